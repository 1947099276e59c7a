package io.expertmesh.model.sampling;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: penalties (repetition over prompt and output, presence
 * and frequency over output), then greedy argmax, or temperature, top-k, top-p and min-p followed by
 * a draw from the request's own seeded generator.
 */
public final class Sampler {
    private final SamplingParams params;
    private final SplittableRandom random;

    public Sampler(SamplingParams params) {
        this.params = params;
        this.random = new SplittableRandom(params.seed() != null ? params.seed() : new SplittableRandom().nextLong());
    }

    /** Picks a token; {@code logits} is modified. */
    public int sample(float[] logits, TokenHistory history) {
        applyPenalties(logits, history);
        if (history.generatedCount() < params.minTokens()) {
            for (int id : params.stopTokenIds()) if (id >= 0 && id < logits.length) logits[id] = Float.NEGATIVE_INFINITY;
        }
        if (params.isGreedy()) return argmax(logits);
        float temperature = params.temperature();
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            logits[i] /= temperature;
            max = Math.max(max, logits[i]);
        }
        double total = 0;
        float[] probs = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            probs[i] = (float) Math.exp(logits[i] - max);
            total += probs[i];
        }
        for (int i = 0; i < probs.length; i++) probs[i] /= (float) total;
        int[] candidates = candidates(probs);
        double mass = 0;
        for (int id : candidates) mass += probs[id];
        double u = random.nextDouble() * mass;
        double acc = 0;
        for (int id : candidates) {
            acc += probs[id];
            if (u < acc) return id;
        }
        return candidates[candidates.length - 1];
    }

    private void applyPenalties(float[] logits, TokenHistory history) {
        float rep = params.repetitionPenalty();
        if (rep != 1f) {
            history.forEachSeen(id -> logits[id] = logits[id] > 0 ? logits[id] / rep : logits[id] * rep);
        }
        float presence = params.presencePenalty();
        float frequency = params.frequencyPenalty();
        if (presence != 0 || frequency != 0) {
            history.forEachGenerated((id, count) -> logits[id] -= presence + frequency * count);
        }
    }

    /**
     * Tokens that survive min-p, then top-k, then top-p (measured against the mass that survived the
     * first two), most probable first, ties by lower id. When top-p is the only filter, tokens below
     * (1 - top_p) / vocab are never needed to reach top_p, so only the rest are sorted.
     */
    private int[] candidates(float[] probs) {
        int vocab = probs.length;
        float maxProb = 0;
        for (float p : probs) maxProb = Math.max(maxProb, p);
        boolean onlyTopP = params.topK() == 0 && params.minP() == 0 && params.topP() < 1;
        float floor = onlyTopP ? (1 - params.topP()) / vocab : params.minP() * maxProb;
        int n = 0;
        long[] keyed = new long[vocab];
        for (int i = 0; i < vocab; i++) {
            if (probs[i] >= floor && probs[i] > 0) {
                keyed[n++] = ((long) (Integer.MAX_VALUE - Float.floatToRawIntBits(probs[i])) << 32) | i;
            }
        }
        if (n == 0) {
            throw new IllegalStateException("no token can be sampled: every probability is zero or not a number after penalties,"
                    + " banned tokens and temperature");
        }
        keyed = Arrays.copyOf(keyed, n);
        Arrays.sort(keyed);
        int keep = params.topK() > 0 ? Math.min(n, params.topK()) : n;
        if (params.topP() < 1) {
            double survived = 0;
            if (onlyTopP) survived = 1;
            else for (int i = 0; i < keep; i++) survived += probs[(int) keyed[i]];
            double cumulative = 0;
            for (int i = 0; i < keep; i++) {
                cumulative += probs[(int) keyed[i]];
                if (cumulative >= params.topP() * survived) {
                    keep = i + 1;
                    break;
                }
            }
        }
        int[] ids = new int[Math.max(1, keep)];
        for (int i = 0; i < ids.length; i++) ids[i] = (int) keyed[i];
        return ids;
    }

    /** Index of the largest logit; the lowest id wins a tie. */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
        return best;
    }
}
