package io.expertmesh.model.guided;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class RegexPatternsTest {
    private static Guide regex(String re) {
        return Guide.compile(new GuideSpec.Regex(re));
    }

    @Test
    void wholeOutputMustMatch() {
        Guide g = regex("^\\d{3}-[A-Z]{2}(?:x|yz)?$");
        assertTrue(g.matches("123-AB"));
        assertTrue(g.matches("123-ABx"));
        assertTrue(g.matches("000-ZZyz"));
        assertFalse(g.matches("123-AB "));
        assertFalse(g.matches("12-AB"));
        assertFalse(g.matches("123-ab"));
    }

    @Test
    void dotAndNegatedClassesTakeNonAsciiCharacters() {
        assertTrue(regex("a.c").matches("aéc"));
        assertFalse(regex("a.c").matches("a\nc"));
        assertTrue(regex("[^\"]+").matches("日本"));
        assertFalse(regex("[^\"]+").matches("a\"b"));
        assertTrue(regex("(ab)*|c+").matches("ababab"));
        assertTrue(regex("(ab)*|c+").matches(""));
    }

    @Test
    void unsupportedSyntaxIsAClearError() {
        for (String bad : List.of("(a", "a)", "[a-", "a{2,1}", "(?=a)", "\\1", "a*?", "a{300}", "*a", "[é]")) {
            assertThrows(GuideException.class, () -> regex(bad), bad);
        }
        assertThrows(GuideException.class, () -> regex("a".repeat(RegexPatterns.MAX_LENGTH + 1)));
    }

    @Test
    void automatonSizeIsBounded() {
        // Each bounded repetition copies its item: 256 * 256 copies of a class are past the limit.
        assertThrows(GuideException.class, () -> regex("(([a-z]{256}){256}){256}"));
    }

    @Test
    void choicesAreExact() {
        Guide g = Guide.compile(new GuideSpec.Choice(List.of("yes", "no", "nope")));
        assertTrue(g.matches("no"));
        assertTrue(g.matches("nope"));
        assertFalse(g.matches("n"));
        assertThrows(GuideException.class, () -> Guide.compile(new GuideSpec.Choice(List.of())));
    }
}
