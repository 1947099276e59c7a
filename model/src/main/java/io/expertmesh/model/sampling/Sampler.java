package io.expertmesh.model.sampling;

import io.expertmesh.model.guided.TokenConstraint;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: penalties (repetition over prompt and output, presence
 * and frequency over output) and logit bias, then greedy argmax, or temperature, top-k, top-p and
 * min-p followed by a draw from the request's own seeded generator. When the request asks for log
 * probabilities they are taken after bias and before temperature; otherwise they cost nothing.
 *
 * <p>With a guide, tokens the guided output does not allow are masked (-inf) before anything else,
 * so penalties, bias, log probabilities and the draw all see the masked distribution; stop tokens
 * are allowed exactly where the output is complete. Without one, sampling does no extra work.
 */
public final class Sampler {
    private final SamplingParams params;
    private final SplittableRandom random;
    private final TokenConstraint.State guided;

    public Sampler(SamplingParams params) {
        this.params = params;
        this.random = new SplittableRandom(params.seed() != null ? params.seed() : new SplittableRandom().nextLong());
        this.guided = params.guide() == null ? null : params.guide().start();
    }

    /** Whether the guided output is complete and nothing may follow it (false without a guide). */
    public boolean guideComplete() {
        return guided != null && guided.complete();
    }

    /** Picks a token; {@code logits} is modified (penalties and bias are applied in place). */
    public Sampled sample(float[] logits, TokenHistory history) {
        if (guided != null) applyGuide(logits);
        applyPenalties(logits, history);
        params.logitBias().forEach((id, bias) -> {
            if (id < logits.length) logits[id] += bias;
        });
        if (history.generatedCount() < params.minTokens()) {
            for (int id : params.stopTokenIds()) if (id >= 0 && id < logits.length) logits[id] = Float.NEGATIVE_INFINITY;
        }
        int token = params.isGreedy() ? argmax(logits) : draw(logits);
        if (guided != null && !params.stopTokenIds().contains(token)) guided.advance(token);
        return new Sampled(token, params.wantsLogprobs() ? logprobs(logits, token, params.logprobs()) : null);
    }

    private void applyGuide(float[] logits) {
        // Stop tokens are allowed exactly where the output may end, whatever the mask says of them.
        boolean accepting = guided.accepting();
        int[] stops = params.stopTokenIds().stream().mapToInt(Integer::intValue).filter(id -> id >= 0 && id < logits.length).toArray();
        float[] stopLogits = new float[stops.length];
        for (int i = 0; i < stops.length; i++) stopLogits[i] = accepting ? logits[stops[i]] : Float.NEGATIVE_INFINITY;
        long[] allowed = guided.allowedTokens();
        for (int word = 0; word * 64 < logits.length; word++) {
            long bits = word < allowed.length ? allowed[word] : 0;
            if (bits == -1L) continue;
            int end = Math.min(logits.length, word * 64 + 64);
            for (int id = word * 64; id < end; id++) if ((bits & 1L << id) == 0) logits[id] = Float.NEGATIVE_INFINITY;
        }
        for (int i = 0; i < stops.length; i++) logits[stops[i]] = stopLogits[i];
    }

    /**
     * The log-softmax of {@code logits} at {@code token}, and the {@code top} most likely tokens
     * (ties by lower id) with theirs. Also used on raw logits for a prompt's log probabilities.
     */
    public static TokenLogprobs logprobs(float[] logits, int token, int top) {
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double sum = 0;
        for (float l : logits) sum += Math.exp((double) l - max);
        double logNormalizer = max + Math.log(sum);
        int[] ids = new int[top];
        float[] values = new float[top];
        int kept = 0;
        for (int i = 0; i < logits.length && top > 0; i++) {
            float l = logits[i];
            if (l == Float.NEGATIVE_INFINITY || kept == top && l <= values[top - 1]) continue;
            // Insertion into the kept list, most likely first; an equal logit stays behind the lower id.
            int at = Math.min(kept, top - 1);
            while (at > 0 && values[at - 1] < l) {
                values[at] = values[at - 1];
                ids[at] = ids[at - 1];
                at--;
            }
            values[at] = l;
            ids[at] = i;
            if (kept < top) kept++;
        }
        float[] topLogprobs = new float[kept];
        for (int i = 0; i < kept; i++) topLogprobs[i] = (float) (values[i] - logNormalizer);
        return new TokenLogprobs(token, (float) (logits[token] - logNormalizer), Arrays.copyOf(ids, kept), topLogprobs);
    }

    /** A draw at the request's temperature among the tokens the filters keep; {@code logits} is left as it is. */
    private int draw(float[] logits) {
        float temperature = params.temperature();
        float max = Float.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l / temperature);
        double total = 0;
        float[] probs = new float[logits.length];
        for (int i = 0; i < logits.length; i++) {
            probs[i] = (float) Math.exp(logits[i] / temperature - max);
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
