package io.expertmesh.model.guided;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.TinyModel;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TokenConstraintTest {
    private static Tokenizer tokenizer;
    private static TokenVocabulary vocabulary;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(TinyModel.dir());
        vocabulary = TokenVocabulary.of(tokenizer);
    }

    @Test
    void maskHoldsExactlyTheTokensWhoseBytesKeepTheOutputAlive() {
        Guide guide = Guide.compile(new GuideSpec.Regex("\\{\"[a-z ]{0,6}\": ?(true|false|[0-9]+)\\}"));
        TokenConstraint constraint = guide.over(vocabulary);
        TokenConstraint.State state = constraint.start();
        int[] open = tokenizer.encode("{");
        assertEquals(1, open.length);
        state.advance(open[0]);
        long[] mask = state.allowedTokens();
        String prefix = "{";
        for (int id = 0; id < tokenizer.size(); id++) {
            boolean expected = !tokenizer.isSpecial(id) && tokenizer.tokenBytes(id).bytes().length > 0
                    && viablePrefix(guide, prefix + new String(tokenizer.tokenBytes(id).bytes(), StandardCharsets.UTF_8));
            assertEquals(expected, (mask[id >>> 6] & 1L << id) != 0, "token " + id + " " + tokenizer.tokenBytes(id).text());
        }
    }

    /** Whether some continuation of {@code text} matches: brute force over the regex's short completions. */
    private static boolean viablePrefix(Guide guide, String text) {
        for (String tail : List.of("", "\"", "\":1}", "\":true}", "\":false}", "rue}", "alse}", "}", "1}", "ue}", "e}", "lse}", "se}",
                "\": 1}", "1\":1}", "\": true}", "\": false}", ": 1}", ":1}", ": true}", ":true}", "a\":1}")) {
            if (guide.matches(text + tail)) return true;
        }
        return false;
    }

    @Test
    void randomWalksOverTheMaskAlwaysEndInAMatch() {
        Guide guide = Guide.compile(new GuideSpec.Choice(List.of("alpha", "beta gamma", "日本語", "a")));
        SplittableRandom random = new SplittableRandom(3);
        for (int run = 0; run < 200; run++) {
            TokenConstraint.State state = guide.over(vocabulary).start();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            while (!state.complete() && !(state.accepting() && random.nextInt(4) == 0)) {
                int[] allowed = ids(state.allowedTokens());
                int pick = allowed[random.nextInt(allowed.length)];
                state.advance(pick);
                out.writeBytes(tokenizer.tokenBytes(pick).bytes());
            }
            assertTrue(guide.matches(out.toString(StandardCharsets.UTF_8)), out.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void specialTokensAreNeverAllowedAndBadTokensAreRefused() {
        TokenConstraint.State state = Guide.compile(new GuideSpec.JsonObject()).over(vocabulary).start();
        for (int id = 0; id < tokenizer.size(); id++) if (tokenizer.isSpecial(id)) assertFalse(state.allows(id), "special " + id);
        int letter = tokenizer.encode("a")[0];
        assertFalse(state.allows(letter));
        assertThrows(IllegalStateException.class, () -> state.advance(letter));
    }

    @Test
    void sameVocabularyReusesTheConstraintAndItsMasks() {
        Guide guide = Guide.compile(new GuideSpec.Choice(List.of("x")));
        assertTrue(guide.over(vocabulary) == guide.over(vocabulary));
        assertTrue(Guide.compile(new GuideSpec.Choice(List.of("x"))) == guide, "compiled guides are cached per spec");
    }

    private static int[] ids(long[] mask) {
        return java.util.BitSet.valueOf(mask).stream().toArray();
    }
}
