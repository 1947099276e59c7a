package io.expertmesh.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.TinyModel;
import io.expertmesh.model.engine.ModelSource;
import io.expertmesh.model.gguf.GgufValue;
import io.expertmesh.model.gguf.GgufWriter;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tiny model's tokenizer written to a GGUF file (by {@link GgufTokenizerMetadata}, and by the python
 * converter for the committed fixture) and read back through {@link ModelSource}, against transformers'
 * outputs in tokenizer_reference.json. No Hugging Face files lie beside the written file, so everything
 * comes from its metadata.
 */
class GgufTokenizerTest {
    @TempDir
    static Path tmp;
    private static Tokenizer written;
    private static ChatTemplate writtenTemplate;
    private static Tokenizer converted;
    private static JsonNode reference;

    @BeforeAll
    static void load() throws URISyntaxException {
        Path file = tmp.resolve("tiny-vocab.gguf");
        GgufWriter.write(file, GgufTokenizerMetadata.fromModelDirectory(TinyModel.dir()), List.of(), (entry, data) -> {});
        ModelSource source = ModelSource.of(file);
        written = source.tokenizer();
        writtenTemplate = source.chatTemplate();
        converted = ModelSource.of(fixture()).tokenizer();
        reference = TinyModel.tokenizerReference();
    }

    static Path fixture() throws URISyntaxException {
        var url = GgufTokenizerTest.class.getResource("tiny-ernie-vocab.gguf");
        assertNotNull(url, "tiny-ernie-vocab.gguf (made by make_fixture.py beside it) is on the test classpath");
        return Path.of(url.toURI());
    }

    @TestFactory
    List<DynamicTest> encodingMatchesTransformersIds() {
        return perCase((tokenizer, c) -> assertArrayEquals(TinyModel.ints(c.get("ids")), tokenizer.encode(c.get("text").asText())));
    }

    @TestFactory
    List<DynamicTest> decodingMatchesTransformersWithAndWithoutSpecialTokens() {
        return perCase((tokenizer, c) -> {
            int[] ids = TinyModel.ints(c.get("ids"));
            assertEquals(c.get("decoded").asText(), tokenizer.decode(ids, false));
            assertEquals(c.get("decoded_skip_special").asText(), tokenizer.decode(ids, true));
        });
    }

    @TestFactory
    List<DynamicTest> chatTemplateRendersAndTokenizesLikeTransformers() {
        List<DynamicTest> tests = new ArrayList<>();
        int i = 0;
        for (JsonNode c : reference.get("chat")) {
            tests.add(DynamicTest.dynamicTest("chat" + i++, () -> {
                List<ChatMessage> messages = new ArrayList<>();
                for (JsonNode m : c.get("messages")) messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
                String rendered = writtenTemplate.render(messages, true);
                assertEquals(c.get("rendered").asText(), rendered);
                assertArrayEquals(TinyModel.ints(c.get("ids")), written.encode(rendered));
            }));
        }
        return tests;
    }

    @Test
    void mergesDerivedFromTheScoresAreTokenizerJsonsMergesInTheSameOrder() {
        var pieces = SentencePieceModel.read(TinyModel.dir().resolve("tokenizer.model")).pieces();
        String[] tokens = new String[pieces.size()];
        float[] scores = new float[pieces.size()];
        boolean[] normal = new boolean[pieces.size()];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = pieces.get(i).text();
            scores[i] = pieces.get(i).score();
            normal[i] = pieces.get(i).type() == SentencePieceModel.NORMAL;
        }
        Map<Long, long[]> derived = SentencePieceMerges.derive(tokens, scores, normal);

        JsonNode model = Json.readTree(TinyModel.dir().resolve("tokenizer.json")).get("model");
        Map<String, Integer> vocab = new HashMap<>();
        model.get("vocab").properties().forEach(e -> vocab.put(e.getKey(), e.getValue().asInt()));
        JsonNode merges = model.get("merges");
        assertEquals(merges.size(), derived.size());
        for (int rank = 0; rank < merges.size(); rank++) {
            String left = merges.get(rank).get(0).asText(), right = merges.get(rank).get(1).asText();
            long[] merge = derived.get(Bpe.pair(vocab.get(left), vocab.get(right)));
            assertNotNull(merge, "merge " + rank + " (" + left + " " + right + ") is derived");
            assertArrayEquals(new long[] {rank, vocab.get(left + right)}, merge, "merge " + rank + " (" + left + " " + right + ")");
        }
    }

    @Test
    void addSpacePrefixPutsASpaceBeforeTextAfterEachSpecialTokenAndDecodingDropsTheFirst() {
        var metadata = GgufTokenizerMetadata.fromModelDirectory(TinyModel.dir());
        metadata.put(GgufTokenizer.ADD_SPACE_PREFIX_KEY, GgufValue.bool(true));
        Path file = tmp.resolve("prefix.gguf");
        GgufWriter.write(file, metadata, List.of(), (entry, data) -> {});
        Tokenizer prefixed = ModelSource.of(file).tokenizer();
        assertArrayEquals(concat(written.encode(" Hi"), new int[] {3}, written.encode(" there")), prefixed.encode("Hi<|begin_of_sentence|>there"));
        assertEquals("Hi<|begin_of_sentence|> there", prefixed.decode(prefixed.encode("Hi<|begin_of_sentence|>there"), false));
        assertFalse(prefixed.decode(prefixed.encode("Hi"), false).startsWith(" "));
    }

    private static int[] concat(int[]... parts) {
        return Arrays.stream(parts).flatMapToInt(Arrays::stream).toArray();
    }

    /** Each reference case, once for the file this project writes and once for the python converter's fixture. */
    private static List<DynamicTest> perCase(BiConsumer<Tokenizer, JsonNode> check) {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : reference.get("tokenize")) {
            String name = Json.write(c.get("text").asText());
            tests.add(DynamicTest.dynamicTest("written " + name, () -> check.accept(written, c)));
            tests.add(DynamicTest.dynamicTest("converted " + name, () -> check.accept(converted, c)));
        }
        return tests;
    }
}
