package io.expertmesh.model.engine;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.kernels.CpuBackend;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.weights.ErnieWeights;
import io.expertmesh.model.weights.RoutedExpertWeights;
import java.nio.file.Path;

/** A checkpoint (a model directory or a GGUF file) opened for in-process inference on the CPU: all experts local. */
public record LoadedModel(Checkpoint checkpoint, ErnieConfig config, ErnieWeights weights, RoutedExpertWeights experts, ErnieModel model)
        implements AutoCloseable {

    public static LoadedModel open(Path model, int threads) {
        ModelSource source = ModelSource.of(model);
        ErnieConfig config = source.config();
        Checkpoint checkpoint = source.openCheckpoint();
        try {
            ErnieWeights weights = ErnieWeights.load(checkpoint, config);
            RoutedExpertWeights experts = RoutedExpertWeights.loadAll(checkpoint, config);
            KernelBackend backend = new CpuBackend(threads);
            return new LoadedModel(checkpoint, config, weights, experts,
                    new ErnieModel(weights, new LocalMoeFeedForward(new LocalRoutedExperts(experts, backend), weights), backend));
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
    }

    /** The MoE feed-forward with every expert in this process, on the model's backend. */
    public MoeFeedForward localMoe() {
        return new LocalMoeFeedForward(new LocalRoutedExperts(experts, model.backend()), weights);
    }

    @Override
    public void close() {
        model.backend().close();
        checkpoint.close();
    }
}
