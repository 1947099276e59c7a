package io.expertmesh.loadtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PromptsTest {
    private final LoadParams params = LoadParams.from(Map.of("loadtest.promptWords", "3-9", "loadtest.maxTokens", "5-7", "loadtest.seed", "7"));

    @Test
    void bodiesAreValidJsonWithinTheRanges() {
        Prompts prompts = new Prompts(params);
        for (int i = 0; i < 200; i++) {
            Prompts.Request r = prompts.next();
            Map<String, Object> body = Json.parseObject(Prompts.sseBody(r));
            assertEquals(true, body.get("stream"));
            assertEquals(0L, body.get("temperature"));
            long maxTokens = (Long) body.get("max_tokens");
            assertTrue(maxTokens >= 5 && maxTokens <= 7);
            String content = (String) ((Map<?, ?>) ((List<?>) body.get("messages")).getFirst()).get("content");
            int words = content.split(" ").length;
            assertTrue(words >= 3 && words <= 9, content);
            assertEquals(r.words(), words);
            assertEquals(Map.of("include_usage", true), body.get("stream_options"));
        }
    }

    @Test
    void sameSeedSameRequests() {
        assertEquals(new Prompts(params).make(41, false), new Prompts(params).make(41, false));
        assertNotEquals(new Prompts(params).make(41, false).body(), new Prompts(params).make(42, false).body());
    }

    @Test
    void webSocketFrames() {
        Prompts.Request r = new Prompts(params).nextToCancel();
        Map<String, Object> frame = Json.parseObject(Prompts.wsFrame("u1-0", r));
        assertEquals("chat.completions", frame.get("type"));
        assertEquals("u1-0", frame.get("id"));
        Map<?, ?> body = (Map<?, ?>) frame.get("body");
        assertEquals(512L, body.get("max_tokens"));
        assertEquals(512L, body.get("min_tokens"));
        assertEquals(Map.of("type", "cancel", "id", "u1-0"), Json.parseObject(Prompts.wsCancel("u1-0")));
    }
}
