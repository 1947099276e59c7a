package io.expertmesh.model.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SamplerTest {
    private static SamplingParams params(float temperature, int topK, float topP, float minP, float rep, float presence,
                                         float frequency, Long seed) {
        return new SamplingParams(temperature, topK, topP, minP, rep, presence, frequency, seed, 16, 0, Set.of(), List.of(), Map.of(),
                SamplingParams.NO_LOGPROBS);
    }

    private static float[] randomLogits(long seed, int n) {
        var r = new SplittableRandom(seed);
        float[] l = new float[n];
        for (int i = 0; i < n; i++) l[i] = (float) (r.nextGaussian() * 3);
        return l;
    }

    private static int[] draw(SamplingParams p, int steps) {
        var sampler = new Sampler(p);
        var history = new TokenHistory(new int[] {1, 2, 3});
        int[] out = new int[steps];
        for (int i = 0; i < steps; i++) {
            out[i] = sampler.sample(randomLogits(i, 500), history).token();
            history.addGenerated(out[i]);
        }
        return out;
    }

    @Test
    void sameSeedGivesTheSameTokensAndAnotherSeedDoesNot() {
        SamplingParams p = params(1f, 0, 0.95f, 0, 1, 0, 0, 42L);
        assertEquals(List.of(box(draw(p, 50))), List.of(box(draw(p, 50))));
        assertNotEquals(List.of(box(draw(p, 50))), List.of(box(draw(p.withSeed(43), 50))));
    }

    @Test
    void topKOfOneEqualsGreedy() {
        for (long s = 0; s < 20; s++) {
            float[] logits = randomLogits(s, 1000);
            int greedy = new Sampler(params(0, 0, 1, 0, 1, 0, 0, null)).sample(logits.clone(), new TokenHistory(new int[0])).token();
            int topK1 = new Sampler(params(1.5f, 1, 1, 0, 1, 0, 0, s)).sample(logits.clone(), new TokenHistory(new int[0])).token();
            assertEquals(Sampler.argmax(logits), greedy);
            assertEquals(greedy, topK1);
        }
    }

    @Test
    void repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfSeenTokens() {
        float[] logits = {2f, -2f, 1.9f, -1f};
        var history = new TokenHistory(new int[] {0, 1});
        int pick = new Sampler(params(0, 0, 1, 0, 2f, 0, 0, null)).sample(logits, history).token();
        assertEquals(1f, logits[0]);
        assertEquals(-4f, logits[1]);
        assertEquals(1.9f, logits[2]);
        assertEquals(2, pick);
    }

    @Test
    void presenceAndFrequencyPenaltiesApplyToGeneratedTokensOnly() {
        float[] logits = {5f, 5f, 5f};
        var history = new TokenHistory(new int[] {2});
        history.addGenerated(0);
        history.addGenerated(0);
        history.addGenerated(1);
        new Sampler(params(0, 0, 1, 0, 1, 0.5f, 1f, null)).sample(logits, history);
        assertEquals(5f - 0.5f - 2f, logits[0]);
        assertEquals(5f - 0.5f - 1f, logits[1]);
        assertEquals(5f, logits[2]);
    }

    @Test
    void topKDrawsOnlyFromTheKMostLikely() {
        float[] logits = {0f, 3f, 1f, 2.9f, -1f, 2.8f};
        assertEquals(Set.of(1, 3, 5), support(params(5f, 3, 1, 0, 1, 0, 0, 7L), logits));
    }

    @Test
    void topPDrawsOnlyFromTheSmallestNucleus() {
        float[] logits = logitsOf(0.5f, 0.3f, 0.15f, 0.05f);
        assertEquals(Set.of(0, 1), support(params(1f, 0, 0.78f, 0, 1, 0, 0, 7L), logits));
        assertEquals(Set.of(0, 1, 2), support(params(1f, 0, 0.81f, 0, 1, 0, 0, 7L), logits));
    }

    @Test
    void minPDropsTokensBelowTheFractionOfTheBest() {
        float[] logits = logitsOf(0.5f, 0.3f, 0.15f, 0.05f);
        assertEquals(Set.of(0, 1), support(params(1f, 0, 1, 0.5f, 1, 0, 0, 7L), logits));
    }

    @Test
    void outOfRangeParametersAreRefusedNamingTheField() {
        var e = assertThrows(IllegalArgumentException.class, () -> params(-1f, 0, 1, 0, 1, 0, 0, null));
        assertTrue(e.getMessage().startsWith("temperature"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> params(1f, 0, 0f, 0, 1, 0, 0, null));
        assertTrue(e.getMessage().startsWith("top_p"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> params(1f, 0, 1, 0, 1, 3f, 0, null));
        assertTrue(e.getMessage().startsWith("presence_penalty"), e.getMessage());
    }

    @Test
    void temperaturesAndRepetitionPenaltiesNearZeroAreRefusedBeforeTheyOverflowTheLogits() {
        var e = assertThrows(IllegalArgumentException.class, () -> params(1e-45f, 0, 1, 0, 1, 0, 0, null));
        assertTrue(e.getMessage().startsWith("temperature must be 0 or a number in [0.001"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> params(1f, 0, 1, 0, 1e-45f, 0, 0, null));
        assertTrue(e.getMessage().startsWith("repetition_penalty"), e.getMessage());
        float[] logits = logitsOf(0.25f, 0.25f, 0.25f, 0.25f);
        int token = new Sampler(params(1e-3f, 0, 1, 0, 0.01f, 0, 0, 7L)).sample(logits.clone(), new TokenHistory(new int[] {0, 1})).token();
        assertTrue(token >= 0 && token < logits.length, "the smallest allowed values still sample a token: " + token);
    }

    @Test
    void whenEveryTokenIsBannedSamplingSaysSoInsteadOfIndexingAnEmptyArray() {
        var banned = new SamplingParams(1f, 0, 1, 0, 1, 0, 0, 7L, 16, 4, Set.of(0, 1, 2, 3), List.of(), Map.of(), SamplingParams.NO_LOGPROBS);
        var e = assertThrows(IllegalStateException.class,
                () -> new Sampler(banned).sample(logitsOf(0.25f, 0.25f, 0.25f, 0.25f), new TokenHistory(new int[0])));
        assertTrue(e.getMessage().startsWith("no token can be sampled"), e.getMessage());
    }

    private static float[] logitsOf(float... probs) {
        float[] l = new float[probs.length];
        for (int i = 0; i < l.length; i++) l[i] = (float) Math.log(probs[i]);
        return l;
    }

    private static Set<Integer> support(SamplingParams p, float[] logits) {
        var sampler = new Sampler(p);
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < 3000; i++) seen.add(sampler.sample(logits.clone(), new TokenHistory(new int[0])).token());
        return seen;
    }

    private static Integer[] box(int[] a) {
        Integer[] b = new Integer[a.length];
        for (int i = 0; i < a.length; i++) b[i] = a[i];
        return b;
    }
}
