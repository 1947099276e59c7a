package io.expertmesh.tools;

import io.expertmesh.model.cuda.CheckpointWeights;
import io.expertmesh.model.cuda.CudaDevice;
import io.expertmesh.model.cuda.GpuModel;
import io.expertmesh.model.engine.LoadedModel;
import java.io.PrintStream;
import java.nio.file.Path;

/** A checkpoint mapped on the host and uploaded to GPU 0; the mapping stays open while the model lives. */
public record GpuCheckpoint(LoadedModel mapped, GpuModel gpu) implements AutoCloseable {
    static final String DEFAULT_DEVICE = "cpu";
    public static final Option DEVICE = Option.valued("device", "cpu|cuda|auto", DEFAULT_DEVICE,
            "where the model runs (cuda: GPU 0; auto: cuda if usable)");

    /** Opens {@code model} (a directory or a GGUF file) and uploads it, showing progress per layer, with room for {@code kvTokens} cached tokens. */
    public static GpuCheckpoint open(Path model, int kvTokens, PrintStream err) {
        LoadedModel mapped = LoadedModel.open(model, 1);
        CudaDevice device = null;
        try {
            device = CudaDevice.open(0);
            var progress = new Progress(err, "upload to " + device.name(), mapped.config().numLayers(), "layers");
            GpuModel gpu = GpuModel.load(device, mapped.config(),
                    new CheckpointWeights(device, mapped.weights(), mapped.experts(), layer -> progress.advance(1)), kvTokens);
            progress.finish();
            return new GpuCheckpoint(mapped, gpu);
        } catch (RuntimeException e) {
            if (device != null) device.close();
            mapped.close();
            throw e;
        }
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
