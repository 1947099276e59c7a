package io.expertmesh.model.sampling;

import io.expertmesh.model.guided.TokenConstraint;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How to pick each next token and when to stop. {@code temperature == 0} is greedy; the filters
 * are off at their neutral values (topK 0, topP 1, minP 0, penalties 0 / 1). A null seed draws a
 * random one; the same seed and request give the same tokens. Until {@code minTokens} tokens are
 * generated, the stop tokens are never sampled.
 *
 * @param logitBias added to the logits of its token ids (after penalties, before log probabilities and sampling)
 * @param logprobs  {@link #NO_LOGPROBS}, or how many most likely alternatives to report with each
 *                  chosen token's log probability (0 reports only the chosen token's)
 * @param guide     guided output: only tokens it allows are sampled, stop tokens only where the
 *                  output is complete; null for none
 */
public record SamplingParams(
        float temperature,
        int topK,
        float topP,
        float minP,
        float repetitionPenalty,
        float presencePenalty,
        float frequencyPenalty,
        Long seed,
        int maxNewTokens,
        int minTokens,
        Set<Integer> stopTokenIds,
        List<String> stopStrings,
        Map<Integer, Float> logitBias,
        int logprobs,
        TokenConstraint guide) {

    public static final int MAX_STOP_STRINGS = 16;
    public static final int NO_LOGPROBS = -1;
    public static final int MAX_LOGPROBS = 20;
    public static final float MAX_LOGIT_BIAS = 100;

    public SamplingParams {
        // Near 0, a temperature or repetition penalty scales logits past what a float holds.
        check(temperature == 0 || temperature >= 1e-3f && temperature <= 100, "temperature", "0 or a number in [0.001, 100]", temperature);
        check(topK >= 0, "top_k", "0 (off) or a positive integer", topK);
        check(topP > 0 && topP <= 1, "top_p", "a number in (0, 1]", topP);
        check(minP >= 0 && minP <= 1, "min_p", "a number in [0, 1]", minP);
        check(repetitionPenalty >= 0.01f && repetitionPenalty <= 10, "repetition_penalty", "a number in [0.01, 10]", repetitionPenalty);
        check(presencePenalty >= -2 && presencePenalty <= 2, "presence_penalty", "a number in [-2, 2]", presencePenalty);
        check(frequencyPenalty >= -2 && frequencyPenalty <= 2, "frequency_penalty", "a number in [-2, 2]", frequencyPenalty);
        check(maxNewTokens >= 0, "max_tokens", "a non-negative integer", maxNewTokens);
        check(minTokens >= 0 && minTokens <= maxNewTokens, "min_tokens", "an integer in [0, max_tokens]", minTokens);
        stopTokenIds = Set.copyOf(stopTokenIds);
        stopStrings = List.copyOf(stopStrings);
        check(stopStrings.size() <= MAX_STOP_STRINGS, "stop", "at most " + MAX_STOP_STRINGS + " strings", stopStrings.size());
        for (String s : stopStrings) check(!s.isEmpty(), "stop", "non-empty strings", "\"\"");
        logitBias = Map.copyOf(logitBias);
        for (var e : logitBias.entrySet()) {
            check(e.getKey() >= 0, "logit_bias", "keyed by token ids >= 0", e.getKey());
            check(Math.abs(e.getValue()) <= MAX_LOGIT_BIAS, "logit_bias", "values in [-100, 100]", e.getValue());
        }
        check(logprobs >= NO_LOGPROBS && logprobs <= MAX_LOGPROBS, "logprobs", "-1 (none) or an integer in [0, 20]", logprobs);
    }

    /** Parameters without a guide. */
    public SamplingParams(float temperature, int topK, float topP, float minP, float repetitionPenalty, float presencePenalty,
                          float frequencyPenalty, Long seed, int maxNewTokens, int minTokens, Set<Integer> stopTokenIds,
                          List<String> stopStrings, Map<Integer, Float> logitBias, int logprobs) {
        this(temperature, topK, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty, seed, maxNewTokens, minTokens,
                stopTokenIds, stopStrings, logitBias, logprobs, null);
    }

    /** Greedy decoding of {@code maxNewTokens} tokens that stops only at the given token ids. */
    public static SamplingParams greedy(int maxNewTokens, Set<Integer> stopTokenIds) {
        return new SamplingParams(0, 0, 1, 0, 1, 0, 0, null, maxNewTokens, 0, stopTokenIds, List.of(), Map.of(), NO_LOGPROBS);
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public boolean wantsLogprobs() {
        return logprobs != NO_LOGPROBS;
    }

    public SamplingParams withSeed(long newSeed) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                newSeed, maxNewTokens, minTokens, stopTokenIds, stopStrings, logitBias, logprobs, guide);
    }

    public SamplingParams withGuide(TokenConstraint newGuide) {
        return new SamplingParams(temperature, topK, topP, minP, repetitionPenalty, presencePenalty, frequencyPenalty,
                seed, maxNewTokens, minTokens, stopTokenIds, stopStrings, logitBias, logprobs, newGuide);
    }

    /**
     * The parameters of choice {@code index} of a request for several: with a seed, choice 0 keeps
     * it and every other choice gets its own seed mixed from it and the index, so choices differ
     * from each other and a repeated request repeats them. Without a seed each choice draws its own.
     */
    public SamplingParams forChoice(int index) {
        if (index == 0 || seed == null) return this;
        return withSeed(mix(seed + index * 0x9E3779B97F4A7C15L));
    }

    /** SplitMix64's finalizer: nearby inputs give unrelated outputs. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private static void check(boolean ok, String field, String expected, Object got) {
        if (!ok) throw new IllegalArgumentException(field + " must be " + expected + ", got " + got);
    }
}
