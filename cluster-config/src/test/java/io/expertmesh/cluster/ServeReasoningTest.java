package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.generate.Generation;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A server with the ernie45 reasoning parser on the tiny model. The random model never writes
 * {@code </think>}, so, as in vLLM, its whole output is reasoning: {@code reasoning_content} holds
 * the generator's text and {@code content} is empty, streamed or not.
 */
class ServeReasoningTest {
    private static final String USER = "Why is the sky blue?";
    private static TestServer server;
    private static ReferenceGenerator reference;

    @BeforeAll
    static void start() {
        server = TestServer.start("expertmesh.http.reasoning-parser = ernie45");
        reference = new ReferenceGenerator();
    }

    @AfterAll
    static void stop() {
        server.close();
        reference.close();
    }

    @Test
    void outputWithoutThinkEndIsReasoningContentWholeAndStreamed() throws Exception {
        Generation expected = reference.greedyChat(USER, 16);
        assertFalse(expected.text().contains("</think>"));

        HttpResponse<String> whole = server.post("/v1/chat/completions", TestServer.chatBody(USER, 16, false).toString());
        assertEquals(200, whole.statusCode(), whole.body());
        JsonNode message = Json.MAPPER.readTree(whole.body()).path("choices").path(0).path("message");
        assertEquals(expected.text(), message.path("reasoning_content").asText());
        assertEquals("", message.path("content").asText());

        HttpResponse<String> streamed = server.post("/v1/chat/completions", TestServer.chatBody(USER, 16, true).toString());
        List<JsonNode> chunks = TestServer.events(streamed);
        StringBuilder reasoning = new StringBuilder();
        for (JsonNode c : chunks.subList(0, chunks.size() - 1)) {
            reasoning.append(c.path("choices").path(0).path("delta").path("reasoning_content").asText(""));
        }
        assertEquals(expected.text(), reasoning.toString());
        assertTrue(TestServer.text(chunks).isEmpty(), "no content");
    }
}
