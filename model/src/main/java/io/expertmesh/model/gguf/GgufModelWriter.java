package io.expertmesh.model.gguf;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.kernels.ParallelRunner;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.safetensors.Tensor;
import io.expertmesh.model.weights.Quantize;
import io.expertmesh.model.weights.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Writes a {@link GgufLayout} to a GGUF file tensor by tensor, converting each Hugging Face source
 * tensor row by row (any readable type: BF16, F16, F32 or an already quantized one) into the type the
 * layout gives it, on the runner's threads, straight into the mapped output file. Only one source
 * tensor and one row per thread are in memory at a time, so a model far larger than memory is written.
 */
public final class GgufModelWriter {
    /** Rows one task converts: enough to amortise the hand-off, few enough to balance the threads. */
    private static final int ROWS_PER_TASK = 16;

    /** Lends the Hugging Face tensor of a name for the duration of {@code use}. */
    @FunctionalInterface
    public interface SourceTensors {
        void withTensor(String huggingFaceName, Consumer<Tensor> use);
    }

    /** Told after each tensor of the layout is written (for progress). */
    @FunctionalInterface
    public interface Listener {
        void written(GgufLayout.PlannedTensor tensor);
    }

    private GgufModelWriter() {}

    public static void write(Path file, Map<String, GgufValue> metadata, GgufLayout layout, SourceTensors source, ParallelRunner runner,
                             Listener listener) {
        Map<String, GgufLayout.PlannedTensor> byName = new HashMap<>();
        for (GgufLayout.PlannedTensor t : layout.tensors()) byName.put(t.name(), t);
        GgufWriter.write(file, metadata, layout.entries(), (entry, data) -> {
            GgufLayout.PlannedTensor planned = byName.get(entry.name());
            long[] shape = planned.shape();
            long[] sourceShape = planned.sources().size() > 1 ? Arrays.copyOfRange(shape, 1, shape.length) : shape;
            long sourceBytes = data.byteSize() / planned.sources().size();
            for (int s = 0; s < planned.sources().size(); s++) {
                MemorySegment slice = data.asSlice(s * sourceBytes, sourceBytes);
                source.withTensor(planned.sources().get(s), t -> convert(t, sourceShape, planned.dtype(), slice, runner));
            }
            listener.written(planned);
        });
    }

    /** {@code src} (of {@code shape}, or the same elements as [1, n] for a [n] or [1, n] vector) converted to {@code type} into {@code dst}. */
    static void convert(Tensor src, long[] shape, DType type, MemorySegment dst, ParallelRunner runner) {
        long cols = shape[shape.length - 1];
        long rows = cols == 0 ? 0 : Arrays.stream(shape).reduce(1, Math::multiplyExact) / cols;
        if (src.elementCount() != rows * cols || src.shape().length > 1 && src.shape()[src.shape().length - 1] != cols) {
            throw new ModelFormatException(src.file() + ": tensor " + src.name() + " has shape " + Arrays.toString(src.shape())
                    + ", expected " + Arrays.toString(shape));
        }
        if (!src.dtype().isWeightType()) {
            throw new ModelFormatException(src.file() + ": tensor " + src.name() + " is " + src.dtype() + ", not a floating-point or quantized type");
        }
        if (rows > Integer.MAX_VALUE || cols > Integer.MAX_VALUE) {
            throw new ModelFormatException(src.file() + ": tensor " + src.name() + " has more than 2^31 rows or columns");
        }
        var matrix = new WeightMatrix(src.name(), src.dtype(), (int) rows, (int) cols, src.data());
        long rowBytes = type.byteSize(cols);
        int tasks = (int) ((rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK);
        runner.run(tasks, task -> {
            float[] row = new float[(int) cols];
            int end = (int) Math.min(rows, (long) (task + 1) * ROWS_PER_TASK);
            for (int r = task * ROWS_PER_TASK; r < end; r++) {
                matrix.readRow(r, row, 0);
                writeRow(type, row, dst, r * rowBytes);
            }
        });
    }

    private static void writeRow(DType type, float[] row, MemorySegment dst, long offset) {
        switch (type) {
            case F32 -> MemorySegment.copy(row, 0, dst, ValueLayout.JAVA_FLOAT_UNALIGNED, offset, row.length);
            case F16 -> {
                for (int i = 0; i < row.length; i++) dst.set(ValueLayout.JAVA_SHORT_UNALIGNED, offset + 2L * i, Float.floatToFloat16(row[i]));
            }
            default -> Quantize.row(type, row, 0, row.length, dst, offset);
        }
    }
}
