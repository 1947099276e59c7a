package io.expertmesh.model.generate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.TinyModel;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class OutputTextTest {
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(TinyModel.dir());
    }

    private static List<String> feed(OutputText text, String s) {
        List<String> deltas = new ArrayList<>();
        for (int id : tokenizer.encode(s)) {
            String d = text.push(id);
            if (!d.isEmpty()) deltas.add(d);
            if (text.stopped()) break;
        }
        String tail = text.finish();
        if (!tail.isEmpty()) deltas.add(tail);
        return deltas;
    }

    @Test
    void stopStringEndsTheTextBeforeItEvenAcrossTokens() {
        var text = new OutputText(tokenizer, List.of("language model"));
        List<String> deltas = feed(text, "Give me a short introduction to large language model. More text");
        assertTrue(text.stopped());
        assertEquals("Give me a short introduction to large ", text.text());
        assertEquals(text.text(), String.join("", deltas));
        for (String d : deltas) assertFalse(d.contains("lang"), d);
    }

    @Test
    void textThatOnlyLooksLikeAStopStringIsReleasedWhenItDiverges() {
        var text = new OutputText(tokenizer, List.of("world peace"));
        List<String> deltas = feed(text, "Hello, world! Hello");
        assertFalse(text.stopped());
        assertEquals("Hello, world! Hello", text.text());
        assertEquals(text.text(), String.join("", deltas));
    }

    @Test
    void multiByteCharactersAreNeverSplitAcrossDeltas() {
        var text = new OutputText(tokenizer, List.of());
        List<String> deltas = feed(text, "你好，世界！😀");
        assertEquals("你好，世界！😀", String.join("", deltas));
        for (String d : deltas) assertEquals(-1, d.indexOf('\uFFFD'), d);
    }

    @Test
    void specialTokensAreLeftOutOfTheText() {
        var text = new OutputText(tokenizer, List.of());
        feed(text, "<|begin_of_sentence|>User: hi");
        assertEquals("User: hi", text.text());
    }
}
