package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.FloatMatrix;

/**
 * Interleaved (GPT-J) rotary embedding over the whole head: pair (2i, 2i+1) rotates by
 * {@code position · θ^(-2i/headDim)}. Frequencies and angles are fp32 products as in transformers;
 * cos and sin are taken per row once per step and shared by all layers.
 */
public final class RotaryEmbedding {
    private final float[] cos;
    private final float[] sin;
    private final int half;

    private RotaryEmbedding(float[] cos, float[] sin, int half) {
        this.cos = cos;
        this.sin = sin;
        this.half = half;
    }

    public static float[] inverseFrequencies(int headDim, double theta) {
        int half = headDim / 2;
        float[] inv = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / headDim;
            inv[i] = (float) (1.0 / (float) Math.pow(theta, exponent));
        }
        return inv;
    }

    public static RotaryEmbedding forPositions(int[] positions, float[] inverseFrequencies) {
        int half = inverseFrequencies.length;
        float[] cos = new float[positions.length * half];
        float[] sin = new float[positions.length * half];
        for (int r = 0; r < positions.length; r++) {
            for (int i = 0; i < half; i++) {
                float angle = positions[r] * inverseFrequencies[i];
                cos[r * half + i] = (float) Math.cos(angle);
                sin[r * half + i] = (float) Math.sin(angle);
            }
        }
        return new RotaryEmbedding(cos, sin, half);
    }

    /** cos of row r's angle i at {@code r · headDim/2 + i}. */
    public float[] cosTable() {
        return cos;
    }

    /** sin of row r's angle i at {@code r · headDim/2 + i}. */
    public float[] sinTable() {
        return sin;
    }

    /** Rotates every head of every row of {@code x} in place; row r is at positions[r]. */
    public void apply(FloatMatrix x, int heads) {
        float[] d = x.data();
        int headDim = 2 * half;
        for (int r = 0; r < x.rows(); r++) {
            int rowOff = r * x.cols();
            int trig = r * half;
            for (int h = 0; h < heads; h++) {
                int off = rowOff + h * headDim;
                for (int i = 0; i < half; i++) {
                    float c = cos[trig + i];
                    float s = sin[trig + i];
                    float a = d[off + 2 * i];
                    float b = d[off + 2 * i + 1];
                    d[off + 2 * i] = a * c - b * s;
                    d[off + 2 * i + 1] = b * c + a * s;
                }
            }
        }
    }
}
