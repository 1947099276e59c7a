package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.generate.Generation;
import io.expertmesh.model.tokenizer.ChatMessage;
import io.expertmesh.model.tokenizer.ChatTemplate;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Streaming through the real server on loopback: SSE and WebSocket against the in-process generator. */
class ServeStreamingTest {
    private static TestServer server;
    private static ReferenceGenerator reference;
    private static Tokenizer tokenizer;
    private static ChatTemplate template;

    @BeforeAll
    static void start() {
        server = TestServer.start("");
        reference = new ReferenceGenerator();
        tokenizer = reference.tokenizer;
        template = reference.template;
    }

    @AfterAll
    static void stop() {
        server.close();
        reference.close();
    }

    private static Generation solo(String user, int maxTokens) {
        return reference.greedyChat(user, maxTokens);
    }

    private static List<JsonNode> stream(ObjectNode body) {
        HttpResponse<String> r = server.post("/v1/chat/completions", body.toString());
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<JsonNode> events = TestServer.events(r);
        assertEquals("[DONE]", events.getLast().asText(), "the stream ends with [DONE]");
        return events.subList(0, events.size() - 1);
    }

    @Test
    void temperatureZeroStreamEqualsTheGeneratorsGreedyText() {
        String user = "Give me a short introduction to large language model.";
        Generation expected = solo(user, 40);
        List<JsonNode> chunks = stream(TestServer.chatBody(user, 40, true));
        assertEquals("assistant", chunks.getFirst().path("choices").path(0).path("delta").path("role").asText(),
                "the first delta carries the role");
        assertEquals("chat.completion.chunk", chunks.getFirst().path("object").asText());
        assertEquals(expected.text(), TestServer.text(chunks));
        JsonNode last = chunks.getLast().path("choices").path(0);
        assertEquals(expected.finishReason().apiName(), last.path("finish_reason").asText());
        for (JsonNode c : chunks.subList(0, chunks.size() - 1)) {
            assertTrue(c.path("choices").path(0).path("finish_reason").isNull(), "only the last chunk has a finish_reason");
        }
    }

    @Test
    void sseAndWebSocketGiveTheSameText() {
        ObjectNode body = TestServer.chatBody("Name three colours.", 30, true);
        String sse = TestServer.text(stream(body));
        try (TestServer.WsClient ws = server.websocket()) {
            ObjectNode frame = Json.MAPPER.createObjectNode().put("type", "chat.completions").put("id", "a1");
            frame.set("body", body);
            ws.send(frame.toString());
            List<JsonNode> frames = ws.until("a1", new ArrayList<>());
            assertTrue(frames.getLast().path("done").asBoolean(), "ends with done: " + frames.getLast());
            List<JsonNode> chunks = frames.stream().filter(f -> f.has("chunk")).map(f -> f.get("chunk")).toList();
            assertEquals(sse, TestServer.text(chunks));
            assertEquals("assistant", chunks.getFirst().path("choices").path(0).path("delta").path("role").asText());
        }
    }

    @Test
    void eightConcurrentStreamsEachEqualTheirSoloRun() throws Exception {
        List<String> prompts = List.of("One", "Two words", "Count to five.", "What is the capital of France?", "Tell a joke.",
                "Write a haiku about rain.", "List prime numbers.", "Summarise the plot of Hamlet in one line.");
        ExecutorService pool = Executors.newFixedThreadPool(prompts.size());
        try {
            List<CompletableFuture<String>> texts = new ArrayList<>();
            for (String p : prompts) {
                texts.add(CompletableFuture.supplyAsync(() -> TestServer.text(stream(TestServer.chatBody(p, 24, true))), pool));
            }
            for (int i = 0; i < prompts.size(); i++) {
                assertEquals(solo(prompts.get(i), 24).text(), texts.get(i).get(), "stream " + i + " (" + prompts.get(i) + ")");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void theSameSeedGivesTheSameTokensThroughTheApi() {
        ObjectNode body = TestServer.chatBody("Invent a word.", 24, true);
        body.put("temperature", 1.0).put("top_p", 0.95).put("seed", 1234);
        String first = TestServer.text(stream(body));
        String second = TestServer.text(stream(body));
        assertEquals(first, second);
        body.put("seed", 99);
        List<String> others = new ArrayList<>();
        for (int s = 0; s < 3; s++) others.add(TestServer.text(stream(body.put("seed", 100 + s))));
        assertTrue(others.stream().anyMatch(t -> !t.equals(first)), "other seeds give other samples");
    }

    @Test
    void includeUsageAddsOneUsageChunkBeforeDoneOnlyWhenAsked() {
        ObjectNode body = TestServer.chatBody("Hello", 10, true);
        List<JsonNode> plain = stream(body);
        assertFalse(plain.stream().anyMatch(c -> c.has("usage")), "no usage chunk unless asked");
        body.putObject("stream_options").put("include_usage", true);
        List<JsonNode> chunks = stream(body);
        JsonNode usage = chunks.getLast();
        assertEquals(0, usage.path("choices").size());
        int prompt = tokenizer.encode(template.render(List.of(new ChatMessage("user", "Hello")), true)).length;
        assertEquals(prompt, usage.path("usage").path("prompt_tokens").asInt());
        int completion = usage.path("usage").path("completion_tokens").asInt();
        assertTrue(completion >= 1 && completion <= 10);
        assertEquals(prompt + completion, usage.path("usage").path("total_tokens").asInt());
    }

    @Test
    void aNonStreamingChatCompletionHoldsTheStreamedText() {
        String user = "Describe the sea.";
        HttpResponse<String> r = server.post("/v1/chat/completions", TestServer.chatBody(user, 20, false).toString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = TestServer.json(r.body());
        assertEquals("chat.completion", body.path("object").asText());
        assertEquals(solo(user, 20).text(), body.path("choices").path(0).path("message").path("content").asText());
        assertEquals("assistant", body.path("choices").path(0).path("message").path("role").asText());
        assertTrue(body.path("usage").path("completion_tokens").asInt() >= 1);
    }

    @Test
    void completionsAcceptTokenIdsAndTextAlike() {
        int[] ids = tokenizer.encode("The quick brown fox");
        ObjectNode byText = Json.MAPPER.createObjectNode().put("prompt", "The quick brown fox").put("max_tokens", 12).put("temperature", 0);
        ObjectNode byIds = byText.deepCopy();
        var arr = byIds.putArray("prompt");
        for (int id : ids) arr.add(id);
        JsonNode a = TestServer.json(server.post("/v1/completions", byText.toString()).body());
        JsonNode b = TestServer.json(server.post("/v1/completions", byIds.toString()).body());
        assertEquals("text_completion", a.path("object").asText());
        String expected = reference.greedy(ids, 12).text();
        assertEquals(expected, a.path("choices").path(0).path("text").asText());
        assertEquals(expected, b.path("choices").path(0).path("text").asText());
        byText.put("stream", true);
        List<JsonNode> events = TestServer.events(server.post("/v1/completions", byText.toString()));
        assertEquals(expected, TestServer.text(events.subList(0, events.size() - 1)));
    }

    @Test
    void modelsTokenizeAndDetokenizeDescribeTheServedModel() {
        JsonNode models = TestServer.json(server.get("/v1/models").body());
        assertEquals("list", models.path("object").asText());
        assertEquals(TestServer.MODEL_ID, models.path("data").path(0).path("id").asText());
        JsonNode tokens = TestServer.json(server.post("/tokenize", "{\"prompt\":\"Hello, world!\"}").body());
        assertEquals("[4060,353,309,4006,1838,1565,4073]", tokens.path("tokens").toString());
        assertEquals(7, tokens.path("count").asInt());
        JsonNode text = TestServer.json(server.post("/detokenize", "{\"tokens\":[4060,353,309,4006,1838,1565,4073]}").body());
        assertEquals("Hello, world!", text.path("prompt").asText());
    }

    @Test
    void tokenizeRendersMessagesWithTheAssistantsCueOnlyWhenAsked() {
        List<ChatMessage> messages = List.of(new ChatMessage("user", "Hello"));
        String body = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hello\"}]";
        for (boolean cue : new boolean[] {true, false}) {
            String request = cue ? body + "}" : body + ",\"add_generation_prompt\":false}";
            JsonNode tokens = TestServer.json(server.post("/tokenize", request).body()).path("tokens");
            int[] expected = tokenizer.encode(template.render(messages, cue));
            assertEquals(expected.length, tokens.size(), "add_generation_prompt " + cue);
            for (int i = 0; i < expected.length; i++) assertEquals(expected[i], tokens.path(i).asInt(), "add_generation_prompt " + cue + ", token " + i);
        }
        assertNotEquals(template.render(messages, true), template.render(messages, false), "the cue changes the rendered text");
    }

    @Test
    void clusterStatusShowsOneUpMemberHostingAll64Experts() {
        stream(TestServer.chatBody("Route me", 4, true));
        JsonNode cluster = TestServer.json(server.get("/cluster").body());
        assertEquals(1, cluster.path("members").size());
        JsonNode member = cluster.path("members").path(0);
        assertEquals("Up", member.path("status").asText());
        assertTrue(member.path("address").asText().startsWith("pekko://expertmesh@127.0.0.1:"));
        assertEquals(64, cluster.path("placement").size());
        for (int e = 0; e < 64; e++) assertEquals(member.path("address").asText(), cluster.path("placement").path(Integer.toString(e)).asText());
        long routed = 0;
        for (int e = 0; e < 64; e++) routed += cluster.path("expertTokens").path(Integer.toString(e)).asLong();
        assertTrue(routed > 0, "tokens were routed");
        assertTrue(cluster.path("placementVersion").asLong() > 0);
    }

    @Test
    void metricsUseTheContractsNames() {
        stream(TestServer.chatBody("Metrics", 4, true));
        String metrics = server.get("/metrics").body();
        for (String name : List.of("mesh:time_to_first_token_seconds_bucket", "mesh:inter_token_latency_seconds_bucket",
                "mesh:e2e_request_latency_seconds_bucket", "mesh:request_queue_time_seconds_bucket", "mesh:num_requests_running",
                "mesh:num_requests_waiting", "mesh:kv_cache_usage_perc", "mesh:prefix_cache_hits_total", "mesh:prefix_cache_queries_total",
                "mesh:prompt_tokens_total", "mesh:generation_tokens_total", "mesh:expert_tokens_total{expert=\"0\"")) {
            assertTrue(metrics.contains(name), name + " in /metrics");
        }
        assertNotEquals(0.0, server.metric("mesh:generation_tokens_total"));
    }
}
