package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.weights.ErnieWeights;

/** Routed experts and the shared expert computed in this process, in the same parallel passes. */
public final class LocalMoeFeedForward implements MoeFeedForward {
    private final LocalRoutedExperts routed;
    private final ErnieWeights weights;

    public LocalMoeFeedForward(LocalRoutedExperts routed, ErnieWeights weights) {
        this.routed = routed;
        this.weights = weights;
    }

    @Override
    public FloatMatrix apply(int layer, FloatMatrix x, Routing routing) {
        return routed.combine(layer, x, routing, weights.layers().get(layer).moe().shared());
    }
}
