package io.expertmesh.model.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.TinyModel;
import io.expertmesh.model.guided.Guide;
import io.expertmesh.model.guided.GuideSpec;
import io.expertmesh.model.guided.TokenConstraint;
import io.expertmesh.model.guided.TokenVocabulary;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SamplerGuideTest {
    private static final int EOS = 2;
    private static Tokenizer tokenizer;
    private static TokenConstraint yesOrNo;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(TinyModel.dir());
        yesOrNo = Guide.compile(new GuideSpec.Regex("(yes|no)!?")).over(TokenVocabulary.of(tokenizer));
    }

    private static SamplingParams params(long seed, int logprobs) {
        return new SamplingParams(1f, 0, 1, 0, 1, 0, 0, seed, 16, 0, Set.of(EOS), List.of(), Map.of(), logprobs, yesOrNo);
    }

    @Test
    void sampledTextFollowsTheGuideAndStopsOnlyWhereItMayEnd() {
        for (long seed = 0; seed < 100; seed++) {
            Sampler sampler = new Sampler(params(seed, SamplingParams.NO_LOGPROBS));
            SplittableRandom random = new SplittableRandom(seed);
            StringBuilder text = new StringBuilder();
            while (!sampler.guideComplete()) {
                float[] logits = new float[tokenizer.size()];
                for (int i = 0; i < logits.length; i++) logits[i] = (float) random.nextGaussian() * 3;
                logits[EOS] = 5; // the model wants to stop at once
                int token = sampler.sample(logits, new TokenHistory(new int[0])).token();
                if (token == EOS) break;
                text.append(tokenizer.tokenBytes(token).text());
            }
            String out = text.toString();
            assertTrue(out.matches("(yes|no)!?"), out);
        }
    }

    @Test
    void logprobsAreOverTheMaskedDistribution() {
        float[] logits = new float[tokenizer.size()];
        TokenLogprobs lp = new Sampler(params(1, 20)).sample(logits, new TokenHistory(new int[0])).logprobs();
        double mass = 0;
        for (int i = 0; i < lp.topTokens().length; i++) {
            String piece = tokenizer.tokenBytes(lp.topTokens()[i]).text();
            assertTrue("yes".startsWith(piece) || "no".startsWith(piece), piece);
            mass += Math.exp(lp.topLogprobs()[i]);
        }
        assertEquals(1, mass, 1e-4, "every allowed token is among the top 20, and they hold all the probability");
        assertFalse(lp.topTokens().length == 20);
    }
}
