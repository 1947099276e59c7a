package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.model.Json;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Structured output through the real server on loopback: every choice, streamed or not, is what the guide allows. */
class ServeGuidedOutputTest {
    private static final String SCHEMA = """
            {"type":"object","properties":{"name":{"type":"string","maxLength":8},"age":{"type":"integer","minimum":0,"maximum":120},
             "tags":{"type":"array","items":{"enum":["a","b"]},"maxItems":3}},"required":["name","age"],"additionalProperties":false}""";
    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start("");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static JsonNode post(ObjectNode body) {
        HttpResponse<String> r = server.post("/v1/chat/completions", body.toString());
        assertEquals(200, r.statusCode(), r.body());
        return TestServer.json(r.body());
    }

    @Test
    void jsonSchemaChoicesParseValidateAndStop() throws Exception {
        ObjectNode body = TestServer.chatBody("Describe a person.", 200, false).put("n", 4).put("temperature", 1.0).put("seed", 7);
        ObjectNode format = body.putObject("response_format").put("type", "json_schema");
        format.putObject("json_schema").put("name", "person").put("strict", true).set("schema", Json.MAPPER.readTree(SCHEMA));
        JsonNode response = post(body);
        assertEquals(4, response.path("choices").size());
        for (JsonNode choice : response.path("choices")) {
            assertEquals("stop", choice.path("finish_reason").asText(), response.toString());
            JsonNode value = Json.MAPPER.readTree(choice.at("/message/content").asText());
            assertTrue(value.path("name").isTextual() && value.path("name").asText().codePointCount(0, value.path("name").asText().length()) <= 8,
                    value.toString());
            assertTrue(value.path("age").isInt() && value.path("age").asInt() >= 0 && value.path("age").asInt() <= 120, value.toString());
            for (var e : value.properties()) assertTrue(Set.of("name", "age", "tags").contains(e.getKey()), value.toString());
            if (value.has("tags")) {
                assertTrue(value.path("tags").size() <= 3, value.toString());
                value.path("tags").forEach(t -> assertTrue(Set.of("a", "b").contains(t.asText()), value.toString()));
            }
        }
    }

    @Test
    void streamedJsonObjectParses() throws Exception {
        ObjectNode body = TestServer.chatBody("Some JSON please.", 400, true).put("temperature", 0.7).put("seed", 3);
        body.putObject("response_format").put("type", "json_object");
        HttpResponse<String> r = server.post("/v1/chat/completions", body.toString());
        assertEquals(200, r.statusCode(), r.body());
        List<JsonNode> events = TestServer.events(r);
        String text = TestServer.text(events.subList(0, events.size() - 1));
        String finish = events.get(events.size() - 2).at("/choices/0/finish_reason").asText();
        // json_object strings are unbounded: a cut output says "length"; a complete one parses.
        if (finish.equals("stop")) assertTrue(Json.MAPPER.readTree(text).isObject(), text);
        else assertEquals("length", finish, text);
        assertTrue(text.startsWith("{"), text);
    }

    /** min_tokens bans the end-of-sentence token, so a complete guided output must end the choice by itself. */
    @Test
    void guidedChoiceAndRegexOnCompletions() {
        for (int seed = 0; seed < 5; seed++) {
            ObjectNode choice = Json.MAPPER.createObjectNode().put("prompt", "The answer is").put("max_tokens", 20).put("min_tokens", 20)
                    .put("seed", seed).put("temperature", 1.0);
            choice.putArray("guided_choice").add("yes").add("no").add("maybe later");
            JsonNode r = TestServer.json(server.post("/v1/completions", choice.toString()).body());
            assertTrue(Set.of("yes", "no", "maybe later").contains(r.at("/choices/0/text").asText()), r.toString());
            assertEquals("stop", r.at("/choices/0/finish_reason").asText());

            ObjectNode regex = Json.MAPPER.createObjectNode().put("prompt", "Call").put("max_tokens", 20).put("seed", seed)
                    .put("temperature", 1.0).put("guided_regex", "\\+1-[0-9]{3}-[0-9]{4}");
            JsonNode rr = TestServer.json(server.post("/v1/completions", regex.toString()).body());
            assertTrue(rr.at("/choices/0/text").asText().matches("\\+1-[0-9]{3}-[0-9]{4}"), rr.toString());
        }
    }

    @Test
    void unsupportedSchemaKeywordIsA400NamingThem() {
        ObjectNode body = TestServer.chatBody("x", 10, false);
        body.putObject("guided_json").put("type", "string").put("pattern", "[a-z]+");
        HttpResponse<String> r = server.post("/v1/chat/completions", body.toString());
        assertEquals(400, r.statusCode());
        JsonNode error = TestServer.json(r.body()).path("error");
        assertEquals("guided_json", error.path("param").asText());
        assertTrue(error.path("message").asText().contains("unsupported JSON schema keyword(s) at #: pattern"), r.body());
    }
}
