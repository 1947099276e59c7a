package io.expertmesh.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.TinyModel;
import io.expertmesh.model.gguf.GgufFile;
import io.expertmesh.model.gguf.GgufValue;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The tokenizer metadata written for a Hugging Face directory, against the python converter's (llama.cpp's, see make_fixture.py). */
class GgufTokenizerMetadataTest {
    @TempDir
    Path tmp;

    @Test
    void writesTheEntriesThePythonConverterWritesForTheTinyModel() throws Exception {
        Map<String, GgufValue> expected = new TreeMap<>();
        try (Arena arena = Arena.ofConfined()) {
            GgufFile.open(GgufTokenizerTest.fixture(), arena).metadata().values().forEach((k, v) -> {
                if (k.startsWith("tokenizer.")) expected.put(k, v);
            });
        }
        Map<String, GgufValue> written = new TreeMap<>(GgufTokenizerMetadata.fromModelDirectory(TinyModel.dir()));
        assertEquals(expected.keySet(), written.keySet());
        expected.forEach((key, value) -> assertEquals(value, written.get(key), key));
    }

    @Test
    void userDefinedPiecesStayUserDefinedAndTheNamedSpecialTokensAreControl() {
        int[] types = types(GgufTokenizerMetadata.fromModelDirectory(TinyModel.dir()));
        // <unk>, <s>, </s>, cls <|begin_of_sentence|>, sep <|end_of_sentence|>, <mask:0>, mask <mask:1>, <mask:2..7>, <0x00>
        assertArrayEquals(new int[] {2, 3, 3, 3, 3, 4, 3, 4, 4, 4, 4, 4, 4, 6}, Arrays.copyOf(types, 14));
    }

    @Test
    void padsToTheConfigVocabularyAndAppliesAddedTokens() throws IOException {
        Files.copy(TinyModel.dir().resolve("tokenizer.model"), tmp.resolve("tokenizer.model"));
        Files.writeString(tmp.resolve("config.json"), "{\"vocab_size\": 4100, \"eos_token_id\": 2}");
        Files.writeString(tmp.resolve("added_tokens.json"), "{\"<extra>\": 4097, \"<far>\": 9000}");
        Files.writeString(tmp.resolve("tokenizer_config.json"), """
                {"add_bos_token": false, "added_tokens_decoder": {
                  "4098": {"content": "<|tool|>", "special": false},
                  "4099": {"content": "a\u2581b", "special": false}}}""");
        Map<String, GgufValue> m = GgufTokenizerMetadata.fromModelDirectory(tmp);
        String[] tokens = strings(m);
        List<Object> scores = m.get("tokenizer.ggml.scores").elements();
        int[] types = types(m);
        assertEquals(4100, tokens.length);
        assertEquals("[PAD4096]", tokens[4096]);
        assertEquals(5, types[4096]);
        assertEquals(-10000f, scores.get(4096));
        assertEquals("<extra>", tokens[4097]);
        assertEquals(4, types[4097]);
        assertEquals(-1000f, scores.get(4097));
        assertEquals("<|tool|>", tokens[4098]);
        assertEquals(3, types[4098], "looks special to llama.cpp");
        assertEquals("a b", tokens[4099], "a user-defined token's ▁ is a space");
        assertEquals(4, types[4099]);
        assertEquals(GgufValue.uint32(2), m.get("tokenizer.ggml.eos_token_id"), "from config.json");
        assertEquals(GgufValue.bool(false), m.get("tokenizer.ggml.add_bos_token"));
        assertFalse(m.containsKey("tokenizer.chat_template"));
    }

    @Test
    void aTruncatedTokenizerModelIsOneLineNamingTheFile() throws IOException {
        byte[] model = Files.readAllBytes(TinyModel.dir().resolve("tokenizer.model"));
        Path file = tmp.resolve("tokenizer.model");
        Files.write(file, Arrays.copyOf(model, 1000));
        var e = assertThrows(ModelFormatException.class, () -> GgufTokenizerMetadata.fromModelDirectory(tmp));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        assertTrue(e.getMessage().contains("bytes, but"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void aNonIntegerAddedTokenIdNamesTheFileAndKey() throws IOException {
        Files.copy(TinyModel.dir().resolve("tokenizer.model"), tmp.resolve("tokenizer.model"));
        Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"added_tokens_decoder\": {\"x1\": {\"content\": \"<x>\"}}}");
        var e = assertThrows(ModelFormatException.class, () -> GgufTokenizerMetadata.fromModelDirectory(tmp));
        assertEquals(tmp.resolve("tokenizer_config.json") + ": added_tokens_decoder key 'x1' is not a token id", e.getMessage());
    }

    private static String[] strings(Map<String, GgufValue> m) {
        return m.get("tokenizer.ggml.tokens").elements().toArray(String[]::new);
    }

    private static int[] types(Map<String, GgufValue> m) {
        return m.get("tokenizer.ggml.token_type").elements().stream().mapToInt(o -> (Integer) o).toArray();
    }
}
