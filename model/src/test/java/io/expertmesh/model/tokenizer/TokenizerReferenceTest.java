package io.expertmesh.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.TinyModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/** The Java tokenizer and chat template against transformers' outputs in tokenizer_reference.json. */
class TokenizerReferenceTest {
    private static Tokenizer tokenizer;
    private static ChatTemplate template;
    private static JsonNode reference;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizer.load(TinyModel.dir());
        template = ChatTemplate.load(TinyModel.dir());
        reference = TinyModel.tokenizerReference();
    }

    @TestFactory
    List<DynamicTest> encodingMatchesTransformersIds() {
        return perCase(c -> assertArrayEquals(TinyModel.ints(c.get("ids")), tokenizer.encode(c.get("text").asText())));
    }

    @TestFactory
    List<DynamicTest> decodingWithSpecialTokensMatchesTransformers() {
        return perCase(c -> assertEquals(c.get("decoded").asText(), tokenizer.decode(TinyModel.ints(c.get("ids")), false)));
    }

    @TestFactory
    List<DynamicTest> decodingWithoutSpecialTokensMatchesTransformers() {
        return perCase(c -> assertEquals(c.get("decoded_skip_special").asText(),
                tokenizer.decode(TinyModel.ints(c.get("ids")), true)));
    }

    @TestFactory
    List<DynamicTest> encodeThenDecodeGivesTheTextBack() {
        return perCase(c -> {
            String text = c.get("text").asText();
            assertEquals(text, tokenizer.decode(tokenizer.encode(text), false));
        });
    }

    @TestFactory
    List<DynamicTest> streamingDetokenizerEmitsTheSameTextAsDecode() {
        return perCase(c -> {
            int[] ids = TinyModel.ints(c.get("ids"));
            var stream = new StreamingDetokenizer(tokenizer, true);
            StringBuilder sb = new StringBuilder();
            for (int id : ids) {
                String delta = stream.push(id);
                assertEquals(-1, delta.indexOf('\uFFFD'), "a delta holds part of a character");
                sb.append(delta);
            }
            sb.append(stream.flush());
            assertEquals(c.get("decoded_skip_special").asText(), sb.toString());
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
                String rendered = template.render(messages, true);
                assertEquals(c.get("rendered").asText(), rendered);
                assertArrayEquals(TinyModel.ints(c.get("ids")), tokenizer.encode(rendered));
            }));
        }
        return tests;
    }

    @Test
    void chatTemplateStoredInTokenizerConfigRendersTheSame(@TempDir Path dir) throws Exception {
        var config = (ObjectNode) Json.readTree(TinyModel.dir().resolve("tokenizer_config.json"));
        config.put("chat_template", Files.readString(TinyModel.dir().resolve("chat_template.jinja")));
        Files.writeString(dir.resolve("tokenizer_config.json"), Json.write(config));
        JsonNode c = reference.get("chat").get(2);
        List<ChatMessage> messages = new ArrayList<>();
        for (JsonNode m : c.get("messages")) messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
        assertEquals(c.get("rendered").asText(), ChatTemplate.load(dir).render(messages, true));
    }

    private static List<DynamicTest> perCase(Consumer<JsonNode> check) {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : reference.get("tokenize")) {
            String name = c.get("text").asText();
            tests.add(DynamicTest.dynamicTest(Json.write(name), () -> check.accept(c)));
        }
        return tests;
    }
}
