package io.expertmesh.model.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.TinyModel;
import io.expertmesh.model.gguf.GgufValue;
import io.expertmesh.model.gguf.GgufWriter;
import io.expertmesh.model.tokenizer.ChatMessage;
import io.expertmesh.model.tokenizer.GgufTokenizerMetadata;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which tokenizer and chat template a GGUF file gets: its own metadata first, Hugging Face files beside it only without. */
class ModelSourceTokenizerTest {
    private static final List<ChatMessage> HI = List.of(new ChatMessage("user", "Hi"));

    @TempDir
    Path tmp;

    @Test
    void theFilesOwnMetadataWinsOverHuggingFaceFilesBesideIt() throws IOException {
        copyHuggingFaceTokenizerFiles();
        Map<String, GgufValue> metadata = GgufTokenizerMetadata.fromModelDirectory(TinyModel.dir());
        metadata.put("tokenizer.ggml.add_space_prefix", GgufValue.bool(true));
        metadata.put("tokenizer.chat_template", GgufValue.string("from the file: {{ messages[0].content }}"));
        ModelSource source = ModelSource.of(write(metadata));

        var huggingFace = Tokenizer.load(tmp);
        assertArrayEquals(huggingFace.encode(" Hello"), source.tokenizer().encode("Hello"), "the file's add_space_prefix applies");
        assertEquals("from the file: Hi", source.chatTemplate().render(HI, true));
    }

    @Test
    void aFileWithoutTokenizerMetadataUsesTheHuggingFaceFilesBesideIt() throws IOException {
        copyHuggingFaceTokenizerFiles();
        ModelSource source = ModelSource.of(write(Map.of("general.architecture", GgufValue.string("ernie4_5-moe"))));
        assertArrayEquals(new int[] {4060, 353, 309, 4006, 1838, 1565, 4073}, source.tokenizer().encode("Hello, world!"));
        assertEquals("<|begin_of_sentence|>User: Hi\nAssistant: ", source.chatTemplate().render(HI, true));
    }

    @Test
    void aFileWithNeitherIsRefusedNamingTheKey() {
        Path file = write(Map.of("general.architecture", GgufValue.string("ernie4_5-moe")));
        var tokenizer = assertThrows(ModelFormatException.class, () -> ModelSource.of(file).tokenizer());
        assertEquals(file + ": metadata key tokenizer.ggml.model is missing (the file has no tokenizer), and there is no tokenizer.json "
                + "beside it in " + tmp.toAbsolutePath(), tokenizer.getMessage());
        var template = assertThrows(ModelFormatException.class, () -> ModelSource.of(file).chatTemplate());
        assertEquals(file + ": metadata key tokenizer.chat_template is missing, and there is no chat_template.jinja or "
                + "tokenizer_config.json beside it in " + tmp.toAbsolutePath(), template.getMessage());
    }

    private void copyHuggingFaceTokenizerFiles() throws IOException {
        for (String name : List.of("tokenizer.json", "tokenizer_config.json", "chat_template.jinja")) {
            Files.copy(TinyModel.dir().resolve(name), tmp.resolve(name));
        }
    }

    private Path write(Map<String, GgufValue> metadata) {
        Path file = tmp.resolve("model.gguf");
        GgufWriter.write(file, metadata, List.of(), (entry, data) -> {});
        return file;
    }
}
