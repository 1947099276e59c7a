package io.expertmesh.model.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SamplerLogprobsTest {
    private static SamplingParams params(float temperature, Long seed, Map<Integer, Float> bias, int logprobs) {
        return new SamplingParams(temperature, 0, 1, 0, 1, 0, 0, seed, 16, 0, Set.of(), List.of(), bias, logprobs);
    }

    private static float[] randomLogits(long seed, int n) {
        var r = new SplittableRandom(seed);
        float[] l = new float[n];
        for (int i = 0; i < n; i++) l[i] = (float) (r.nextGaussian() * 4);
        return l;
    }

    /** log(softmax(logits)) the long way, in double: exponentials, their sum, a division, a log. */
    private static double[] independentLogSoftmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) max = Math.max(max, l);
        double[] e = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < e.length; i++) sum += e[i] = Math.exp(logits[i] - max);
        double[] out = new double[e.length];
        for (int i = 0; i < e.length; i++) out[i] = Math.log(e[i] / sum);
        return out;
    }

    private static TokenHistory empty() {
        return new TokenHistory(new int[0]);
    }

    @Test
    void logprobsAreTheLogSoftmaxOfTheLogitsAndTheTopListIsTheMostLikelyTokensInOrder() {
        for (long seed = 0; seed < 10; seed++) {
            float[] logits = randomLogits(seed, 2000);
            double[] expected = independentLogSoftmax(logits);
            TokenLogprobs lp = new Sampler(params(0.7f, seed, Map.of(), 20)).sample(logits.clone(), empty()).logprobs();
            assertEquals(expected[lp.token()], lp.logprob(), 1e-4);
            int[] expectedTop = IntStream.range(0, logits.length).boxed()
                    .sorted(Comparator.<Integer>comparingDouble(i -> -expected[i]).thenComparingInt(i -> i))
                    .limit(20).mapToInt(Integer::intValue).toArray();
            assertArrayEquals(expectedTop, lp.topTokens());
            for (int i = 0; i < 20; i++) assertEquals(expected[expectedTop[i]], lp.topLogprobs()[i], 1e-4);
        }
    }

    @Test
    void theMostLikelyTokenIsTheGreedyChoiceAlsoWhenLogitsTie() {
        float[] logits = {0.5f, 3f, -1f, 3f, 2f};
        Sampled greedy = new Sampler(params(0, null, Map.of(), 3)).sample(logits.clone(), empty());
        assertEquals(1, greedy.token());
        assertEquals(greedy.token(), greedy.logprobs().topTokens()[0]);
        assertArrayEquals(new int[] {1, 3, 4}, greedy.logprobs().topTokens());
        for (long seed = 0; seed < 20; seed++) {
            float[] random = randomLogits(seed, 500);
            Sampled s = new Sampler(params(0, null, Map.of(), 1)).sample(random.clone(), empty());
            assertEquals(Sampler.argmax(random), s.logprobs().topTokens()[0]);
            assertEquals(s.token(), s.logprobs().topTokens()[0]);
        }
    }

    @Test
    void logprobsAreTakenBeforeTemperature() {
        float[] logits = randomLogits(3, 300);
        double[] expected = independentLogSoftmax(logits);
        for (float temperature : new float[] {0.2f, 1.7f}) {
            TokenLogprobs lp = new Sampler(params(temperature, 5L, Map.of(), 2)).sample(logits.clone(), empty()).logprobs();
            assertEquals(expected[lp.token()], lp.logprob(), 1e-4);
            assertEquals(expected[lp.topTokens()[0]], lp.topLogprobs()[0], 1e-4);
        }
    }

    @Test
    void logitBiasShiftsTheLogitsBeforeLogprobsAndSampling() {
        float[] logits = randomLogits(4, 100);
        int unlikely = IntStream.range(0, 100).boxed().min(Comparator.comparingDouble(i -> logits[i])).orElseThrow();
        Sampled s = new Sampler(params(0, null, Map.of(unlikely, 100f, 7, -100f), 1)).sample(logits.clone(), empty());
        assertEquals(unlikely, s.token());
        float[] biased = logits.clone();
        biased[unlikely] += 100;
        biased[7] -= 100;
        assertEquals(independentLogSoftmax(biased)[unlikely], s.logprobs().logprob(), 1e-4);
        for (int i = 0; i < 200; i++) {
            int drawn = new Sampler(params(1f, (long) i, Map.of(unlikely, -100f), SamplingParams.NO_LOGPROBS))
                    .sample(logits.clone(), empty()).token();
            assertNotEquals(unlikely, drawn);
        }
    }

    @Test
    void noLogprobsAreComputedUnlessAsked() {
        assertNull(new Sampler(params(0, null, Map.of(), SamplingParams.NO_LOGPROBS)).sample(randomLogits(1, 50), empty()).logprobs());
        TokenLogprobs only = new Sampler(params(0, null, Map.of(), 0)).sample(randomLogits(1, 50), empty()).logprobs();
        assertEquals(0, only.topTokens().length);
    }

    @Test
    void bannedTokensAreNeverAmongTheAlternatives() {
        var p = new SamplingParams(0, 0, 1, 0, 1, 0, 0, null, 16, 4, Set.of(0, 1), List.of(), Map.of(), 5);
        TokenLogprobs lp = new Sampler(p).sample(new float[] {9f, 8f, 1f, 0f}, empty()).logprobs();
        assertArrayEquals(new int[] {2, 3}, lp.topTokens());
        assertEquals(2, lp.token());
    }

    @Test
    void eachChoiceHasItsOwnSeedDerivedFromTheRequestSeed() {
        SamplingParams p = params(1f, 42L, Map.of(), SamplingParams.NO_LOGPROBS);
        assertEquals(p, p.forChoice(0));
        assertEquals(p.forChoice(2), p.forChoice(2));
        assertTrue(Set.of(p.seed(), p.forChoice(1).seed(), p.forChoice(2).seed(), p.forChoice(3).seed()).size() == 4);
        assertNull(params(1f, null, Map.of(), SamplingParams.NO_LOGPROBS).forChoice(3).seed());
    }

    @Test
    void logitBiasOutsideItsRangeIsRefused() {
        var e = assertThrows(IllegalArgumentException.class, () -> params(1f, null, Map.of(3, 100.5f), SamplingParams.NO_LOGPROBS));
        assertTrue(e.getMessage().startsWith("logit_bias must be values in [-100, 100]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> params(1f, null, Map.of(-1, 1f), SamplingParams.NO_LOGPROBS));
        assertThrows(IllegalArgumentException.class, () -> params(1f, null, Map.of(), 21));
    }
}
