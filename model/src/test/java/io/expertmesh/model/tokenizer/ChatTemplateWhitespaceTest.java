package io.expertmesh.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Whitespace control on expression tags, which chat templates use between lines, as Jinja2 applies it. */
class ChatTemplateWhitespaceTest {
    private static String render(String template) {
        return new ChatTemplate(template, Map.of()).render(List.of(new ChatMessage("user", "hi")), false);
    }

    @Test
    void aDashInsideAnExpressionTagTrimsTheWhitespaceBesideIt() {
        // Jinja2 renders each of these as "ab".
        assertEquals("ab", render("{{- \"a\" -}}\n    {{- \"b\" -}}"));
        assertEquals("ab", render("{{ \"a\" -}}\n    {{ \"b\" }}"));
        assertEquals("ab", render("{{ \"a\" }}\n    {{- \"b\" }}"));
    }

    @Test
    void withoutADashTheWhitespaceStays() {
        assertEquals("a\n b", render("{{ \"a\" }}\n {{ \"b\" }}"));
    }
}
