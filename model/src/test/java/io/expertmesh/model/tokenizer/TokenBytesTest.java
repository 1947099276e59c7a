package io.expertmesh.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.TinyModel;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TokenBytesTest {
    private static Tokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(TinyModel.dir());
    }

    private static int id(String token) {
        return tokenizer.tokenId(token).orElseThrow();
    }

    @Test
    void wordTokensReadWithTheirSpacesAndTheirUtf8Bytes() {
        StringBuilder texts = new StringBuilder();
        boolean spaceLed = false;
        for (int id : tokenizer.encode("hello world")) {
            TokenBytes t = tokenizer.tokenBytes(id);
            assertArrayEquals(t.text().getBytes(StandardCharsets.UTF_8), t.bytes());
            spaceLed |= t.text().startsWith(" ");
            texts.append(t.text());
        }
        assertTrue(spaceLed, "the metaspace of a word's first token reads as a space, even alone");
        assertEquals("hello world", texts.toString());
    }

    @Test
    void aByteFallbackTokenIsItsRawByte() {
        TokenBytes newline = tokenizer.tokenBytes(id("<0x0A>"));
        assertEquals("\n", newline.text());
        assertArrayEquals(new byte[] {10}, newline.bytes());
        TokenBytes lead = tokenizer.tokenBytes(id("<0xE4>"));
        assertEquals("<0xE4>", lead.text(), "half a character has no text of its own");
        assertArrayEquals(new byte[] {(byte) 0xE4}, lead.bytes());
    }

    @Test
    void theTokensBytesOfATextAddUpToItsDecodedBytes() {
        for (JsonNode c : TinyModel.tokenizerReference().get("tokenize")) {
            int[] ids = TinyModel.ints(c.get("ids"));
            var joined = new ByteArrayOutputStream();
            for (int id : ids) joined.writeBytes(tokenizer.tokenBytes(id).bytes());
            assertEquals(tokenizer.decode(ids, false), joined.toString(StandardCharsets.UTF_8), c.get("text").asText());
        }
    }

    @Test
    void anIdOutsideTheVocabularyIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> tokenizer.tokenBytes(tokenizer.size()));
    }
}
