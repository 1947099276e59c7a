package io.expertmesh.model.weights;

import io.expertmesh.model.safetensors.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A linear layer's weight in PyTorch layout [rows = out features, cols = in features], row-major,
 * still in the checkpoint's dtype inside the mapped file. Kernels widen it to fp32 as they stream it.
 * For a block-quantized dtype each row is {@code cols / blockElements} of GGML's blocks.
 */
public record WeightMatrix(String name, DType dtype, int rows, int cols, MemorySegment data) {
    public long rowBytes() {
        return dtype.byteSize(cols);
    }

    public long byteSize() {
        return rowBytes() * rows;
    }

    /** Row {@code r} widened (or dequantized) to fp32 into {@code out[off..off+cols)}. */
    public void readRow(int r, float[] out, int off) {
        long base = r * rowBytes();
        switch (dtype) {
            case BF16 -> {
                for (int c = 0; c < cols; c++) {
                    out[off + c] = Float.intBitsToFloat((data.get(ValueLayout.JAVA_SHORT_UNALIGNED, base + 2L * c) & 0xFFFF) << 16);
                }
            }
            case F16 -> {
                for (int c = 0; c < cols; c++) {
                    out[off + c] = Float.float16ToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, base + 2L * c));
                }
            }
            case F32 -> MemorySegment.copy(data, ValueLayout.JAVA_FLOAT_UNALIGNED, base, out, off, cols);
            case Q8_0, Q4_0, Q4_K, Q6_K -> QuantizedBlocks.dequantize(dtype, data, base, cols, out, off);
            default -> throw new IllegalStateException(name + ": " + dtype + " is not a weight type");
        }
    }
}
