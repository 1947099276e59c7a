package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.weights.ErnieWeights;
import io.expertmesh.model.weights.MlpWeights;

/** Routed experts and the shared expert computed in this process, one after the other. */
public final class LocalMoeFeedForward implements MoeFeedForward {
    private final RoutedExperts routed;
    private final ErnieWeights weights;
    private final KernelBackend backend;

    public LocalMoeFeedForward(RoutedExperts routed, ErnieWeights weights, KernelBackend backend) {
        this.routed = routed;
        this.weights = weights;
        this.backend = backend;
    }

    @Override
    public FloatMatrix apply(int layer, FloatMatrix x, Routing routing) {
        FloatMatrix out = routed.combine(layer, x, routing);
        MlpWeights shared = weights.layers().get(layer).moe().shared();
        if (shared != null) Mlp.addInPlace(out, Mlp.swiglu(backend, x, shared));
        return out;
    }
}
