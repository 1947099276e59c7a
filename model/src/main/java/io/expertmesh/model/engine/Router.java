package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.kernels.VectorMath;
import io.expertmesh.model.weights.MoeWeights;

/**
 * Expert selection of one MoE layer, all in fp32: logits = h·Wgᵀ, p = softmax(logits); the k
 * experts with the largest {@code p + bias} are chosen (the bias only chooses), and their unbiased
 * probabilities are divided by {@code max(Σ p, moe_norm_min)}.
 */
public final class Router {
    private Router() {}

    public static Routing route(KernelBackend backend, FloatMatrix h, MoeWeights w, int k, float normMin) {
        int experts = w.correctionBias().length;
        int hidden = h.cols();
        int[] chosen = new int[h.rows() * k];
        float[] weights = new float[h.rows() * k];
        backend.parallelFor(h.rows(), r -> {
            float[] p = new float[experts];
            float max = Float.NEGATIVE_INFINITY;
            for (int e = 0; e < experts; e++) {
                p[e] = VectorMath.dot(h.data(), r * hidden, w.router(), e * hidden, hidden);
                max = Math.max(max, p[e]);
            }
            for (int e = 0; e < experts; e++) p[e] -= max;
            VectorMath.exp(p, 0, experts);
            float sum = 0;
            for (int e = 0; e < experts; e++) sum += p[e];
            for (int e = 0; e < experts; e++) p[e] /= sum;
            selectTopK(p, w.correctionBias(), k, chosen, r * k);
            float total = 0;
            for (int j = 0; j < k; j++) total += p[chosen[r * k + j]];
            float denom = Math.max(total, normMin);
            for (int j = 0; j < k; j++) weights[r * k + j] = p[chosen[r * k + j]] / denom;
        });
        return new Routing(h.rows(), k, chosen, weights);
    }

    /** Writes the k indices of largest {@code p + bias} into out[off..], best first; ties go to the lower id. */
    private static void selectTopK(float[] p, float[] bias, int k, int[] out, int off) {
        int n = p.length;
        boolean[] taken = new boolean[n];
        for (int j = 0; j < k; j++) {
            int best = -1;
            float bestScore = Float.NEGATIVE_INFINITY;
            for (int e = 0; e < n; e++) {
                if (taken[e]) continue;
                float score = p[e] + bias[e];
                if (best < 0 || score > bestScore) {
                    best = e;
                    bestScore = score;
                }
            }
            taken[best] = true;
            out[off + j] = best;
        }
    }
}
