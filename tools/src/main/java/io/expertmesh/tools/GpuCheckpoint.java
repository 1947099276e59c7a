package io.expertmesh.tools;

import io.expertmesh.model.cuda.CheckpointWeights;
import io.expertmesh.model.cuda.CudaDevice;
import io.expertmesh.model.cuda.Gpu;
import io.expertmesh.kvstore.PooledSequences;
import io.expertmesh.model.cuda.GpuKvBlocks;
import io.expertmesh.model.cuda.GpuModel;
import io.expertmesh.model.engine.LoadedModel;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.function.Supplier;

/** A checkpoint mapped on the host and uploaded to GPU 0; the mapping stays open while the model lives. */
public record GpuCheckpoint(LoadedModel mapped, GpuModel gpu) implements AutoCloseable {
    static final String DEFAULT_DEVICE = "cpu";
    public static final Option DEVICE = Option.valued("device", "cpu|cuda|auto", DEFAULT_DEVICE,
            "where the model runs (cuda: GPU 0; auto: cuda if usable)");

    /** Opens {@code model} (a directory or a GGUF file) and uploads it, showing progress per layer, with room for {@code kvTokens} cached tokens. */
    public static GpuCheckpoint open(Path model, int kvTokens, PrintStream err) {
        return open(model, kvTokens, () -> CudaDevice.open(0), err);
    }

    /** As {@link #open(Path, int, PrintStream)}, on the device {@code device} opens (closed with the model). */
    static GpuCheckpoint open(Path model, int kvTokens, Supplier<Gpu> device, PrintStream err) {
        LoadedModel mapped = LoadedModel.open(model, 1);
        Gpu gpu = null;
        try {
            gpu = device.get();
            var progress = new Progress(err, "upload to " + gpu.name(), mapped.config().numLayers(), "layers");
            GpuModel onDevice = GpuModel.load(gpu, mapped.config(),
                    new CheckpointWeights(gpu, mapped.weights(), mapped.experts(), layer -> progress.advance(1)), GpuKvBlocks.blocksFor(kvTokens));
            progress.finish();
            return new GpuCheckpoint(mapped, onDevice);
        } catch (RuntimeException e) {
            if (gpu != null) gpu.close();
            mapped.close();
            throw e;
        }
    }

    /** Sequences one at a time on the GPU, their KV blocks from a pool of the GPU's blocks. */
    public PooledSequences sequences() {
        return PooledSequences.onDevice(gpu, GpuKvBlocks.BLOCK, gpu.kvBlocks());
    }

    /** Whether {@code --device} (cpu, cuda or auto; cpu when absent) selects the GPU. */
    static boolean selected(CliArgs a) {
        String device = a.string("device", DEFAULT_DEVICE);
        return switch (device) {
            case "cpu" -> false;
            case "cuda" -> {
                CudaDevice.unavailableReason().ifPresent(reason -> {
                    throw new UsageException("--device cuda: " + reason);
                });
                yield true;
            }
            case "auto" -> CudaDevice.unavailableReason().isEmpty();
            default -> throw new UsageException("--device must be cpu, cuda or auto, not '" + device + "'");
        };
    }

    @Override
    public void close() {
        gpu.close();
        mapped.close();
    }
}
