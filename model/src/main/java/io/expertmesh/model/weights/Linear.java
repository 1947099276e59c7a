package io.expertmesh.model.weights;

/** A linear layer: {@code y = x·Wᵀ + bias}; {@code bias} is null when the model has no biases. */
public record Linear(WeightMatrix weight, float[] bias) {
    public int inFeatures() {
        return weight.cols();
    }

    public int outFeatures() {
        return weight.rows();
    }

    public long byteSize() {
        return weight.byteSize() + (bias == null ? 0 : 4L * bias.length);
    }
}
