package io.expertmesh.loadtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PromptsTest {
    private final LoadParams params = LoadParams.from(Map.of("loadtest.promptWords", "3-9", "loadtest.maxTokens", "5-7", "loadtest.seed", "7"));

    @Test
    void bodiesAreValidJsonWithinTheRanges() throws Exception {
        Prompts prompts = new Prompts(params);
        for (int i = 0; i < 200; i++) {
            Prompts.Request r = prompts.next();
            JsonNode body = Json.MAPPER.readTree(Prompts.sseBody(r));
            assertTrue(body.get("stream").booleanValue());
            assertTrue(body.get("temperature").isIntegralNumber());
            assertEquals(0, body.get("temperature").intValue());
            int maxTokens = body.get("max_tokens").intValue();
            assertTrue(maxTokens >= 5 && maxTokens <= 7);
            assertEquals("user", body.get("messages").get(0).get("role").textValue());
            String content = body.get("messages").get(0).get("content").textValue();
            int words = content.split(" ").length;
            assertTrue(words >= 3 && words <= 9, content);
            assertEquals(r.words(), words);
            assertEquals(Json.MAPPER.readTree("{\"include_usage\":true}"), body.get("stream_options"));
        }
    }

    @Test
    void sameSeedSameRequests() {
        assertEquals(new Prompts(params).make(41, false), new Prompts(params).make(41, false));
        assertNotEquals(new Prompts(params).make(41, false).body(), new Prompts(params).make(42, false).body());
    }

    @Test
    void webSocketFrames() throws Exception {
        Prompts.Request r = new Prompts(params).nextToCancel();
        JsonNode frame = Json.MAPPER.readTree(Prompts.wsFrame("u1-0", r));
        assertEquals("chat.completions", frame.get("type").textValue());
        assertEquals("u1-0", frame.get("id").textValue());
        assertEquals(Json.MAPPER.readTree(r.body()), frame.get("body"));
        assertEquals(512, frame.get("body").get("max_tokens").intValue());
        assertEquals(512, frame.get("body").get("min_tokens").intValue());
        assertEquals(Map.of("type", "cancel", "id", "u1-0"), Json.MAPPER.readValue(Prompts.wsCancel("u1-0"), Map.class));
    }

    @Test
    void quotesClientIdsThatHoldJsonSyntax() throws Exception {
        String id = "a\"b\\c\n}";
        Prompts.Request r = new Prompts(params).next();
        assertEquals(id, Json.MAPPER.readTree(Prompts.wsFrame(id, r)).get("id").textValue());
        assertEquals(id, Json.MAPPER.readTree(Prompts.wsCancel(id)).get("id").textValue());
    }
}
