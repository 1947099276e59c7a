package io.expertmesh.model.engine;

/**
 * The router's choice for each row of a step: {@code k} expert ids per row in descending order of
 * biased score, and their renormalised (unbiased) weights.
 */
public record Routing(int rows, int k, int[] experts, float[] weights) {
    public int expert(int row, int j) {
        return experts[row * k + j];
    }

    public float weight(int row, int j) {
        return weights[row * k + j];
    }
}
