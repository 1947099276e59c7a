package io.expertmesh.model.weights;

/** One decoder layer: exactly one of {@code denseMlp} and {@code moe} is set. */
public record LayerWeights(
        float[] inputNorm, float[] postAttentionNorm, AttentionWeights attention, MlpWeights denseMlp, MoeWeights moe) {
    public boolean isMoe() {
        return moe != null;
    }
}
