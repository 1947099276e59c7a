package io.expertmesh.model.weights;

/** A SwiGLU MLP: {@code down(silu(gate(x)) * up(x))}. Used for the dense MLP, each expert and the shared expert. */
public record MlpWeights(Linear gate, Linear up, Linear down) {
    public int intermediateSize() {
        return gate.outFeatures();
    }

    public long byteSize() {
        return gate.byteSize() + up.byteSize() + down.byteSize();
    }
}
