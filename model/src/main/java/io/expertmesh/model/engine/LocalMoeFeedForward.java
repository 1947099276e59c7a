package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.weights.ErnieWeights;

/** Routed experts and the shared expert computed in this process, in the same parallel passes. */
public record LocalMoeFeedForward(LocalRoutedExperts routed, ErnieWeights weights) implements MoeFeedForward {
    @Override
    public FloatMatrix apply(int layer, FloatMatrix x, Routing routing) {
        return routed.combine(layer, x, routing, weights.layers().get(layer).moe().shared());
    }

    @Override
    public boolean allLocal() {
        return true;
    }
}
