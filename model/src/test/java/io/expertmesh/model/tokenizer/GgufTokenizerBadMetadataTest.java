package io.expertmesh.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.TinyModel;
import io.expertmesh.model.engine.ModelSource;
import io.expertmesh.model.gguf.GgufValue;
import io.expertmesh.model.gguf.GgufWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad tokenizer metadata in a GGUF file is one line naming the file and the key. */
class GgufTokenizerBadMetadataTest {
    @TempDir
    Path tmp;

    @Test
    void missingTokens() {
        assertRefused(m -> m.remove("tokenizer.ggml.tokens"), "metadata key tokenizer.ggml.tokens is missing");
    }

    @Test
    void scoresOfTheWrongLength() {
        assertRefused(m -> m.put("tokenizer.ggml.scores", GgufValue.float32s(new float[4095])),
                "metadata key tokenizer.ggml.scores has 4095 elements, but tokenizer.ggml.tokens has 4096");
    }

    @Test
    void tokenTypesOfTheWrongLengthOrValue() {
        assertRefused(m -> m.put("tokenizer.ggml.token_type", GgufValue.int32s(new int[5])),
                "metadata key tokenizer.ggml.token_type has 5 elements, but tokenizer.ggml.tokens has 4096");
        int[] types = new int[4096];
        types[7] = 9;
        assertRefused(m -> m.put("tokenizer.ggml.token_type", GgufValue.int32s(types)),
                "metadata key tokenizer.ggml.token_type element 7 is 9, not a token type 0..6");
    }

    @Test
    void aTokenizerModelOtherThanSentencePiece() {
        assertRefused(m -> m.put("tokenizer.ggml.model", GgufValue.string("gpt2")),
                "metadata key tokenizer.ggml.model is \"gpt2\"; only \"llama\" (a SentencePiece vocabulary) is supported");
    }

    @Test
    void specialTokenIdsOutOfRange() {
        assertRefused(m -> m.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(4096)),
                "metadata key tokenizer.ggml.bos_token_id is 4096, not a token id below the vocabulary size 4096");
        assertRefused(m -> m.put("tokenizer.ggml.unknown_token_id", GgufValue.int32(-1)),
                "metadata key tokenizer.ggml.unknown_token_id is -1, not a token id below the vocabulary size 4096");
    }

    @Test
    void aChatTemplateVariableOutOfRange() {
        Path file = write(m -> m.put("tokenizer.ggml.seperator_token_id", GgufValue.uint32(5000)));
        var e = assertThrows(ModelFormatException.class, () -> ModelSource.of(file).chatTemplate());
        assertEquals(file + ": metadata key tokenizer.ggml.seperator_token_id is 5000, not a token id below the vocabulary size 4096",
                e.getMessage());
    }

    private void assertRefused(Consumer<Map<String, GgufValue>> spoil, String problem) {
        Path file = write(spoil);
        var e = assertThrows(ModelFormatException.class, () -> ModelSource.of(file).tokenizer());
        assertEquals(file + ": " + problem, e.getMessage());
    }

    private Path write(Consumer<Map<String, GgufValue>> spoil) {
        Map<String, GgufValue> metadata = GgufTokenizerMetadata.fromModelDirectory(TinyModel.dir());
        spoil.accept(metadata);
        Path file = tmp.resolve("bad.gguf");
        GgufWriter.write(file, metadata, List.of(), (entry, data) -> {});
        return file;
    }
}
