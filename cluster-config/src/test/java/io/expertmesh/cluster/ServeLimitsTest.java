package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.model.Json;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Cancellation frees blocks; the admission queue is bounded; a repeated system prompt hits the prefix cache. */
class ServeLimitsTest {
    private static TestServer server;

    @BeforeAll
    static void start() {
        server = TestServer.start("expertmesh.scheduler { max-running = 2, max-waiting = 1 }");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String longStream(String user) {
        return TestServer.chatBody(user, 4000, true).toString();
    }

    /** Polls /metrics until no request runs or waits and no KV block is in use. */
    private static void awaitIdle() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            double running = server.metric("mesh:num_requests_running");
            double waiting = server.metric("mesh:num_requests_waiting");
            double kv = server.metric("mesh:kv_cache_usage_perc");
            if (running == 0 && waiting == 0 && kv == 0) return;
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not idle after 10 s: running " + running + ", waiting " + waiting + ", kv " + kv);
            }
            TestServer.sleep(20);
        }
    }

    @Test
    void anSseClientThatDisconnectsStopsItsSequenceAndFreesItsBlocks() throws Exception {
        try (RawHttp client = new RawHttp(server.node.httpPort(), "/v1/chat/completions", longStream("Keep talking"))) {
            assertTrue(client.statusLine().contains(" 200 "));
            for (int i = 0; i < 5; i++) client.readLineStartingWith("data: ");
            assertEquals(1.0, server.metric("mesh:num_requests_running"));
            assertTrue(server.metric("mesh:kv_cache_usage_perc") > 0);
        }
        awaitIdle();
    }

    @Test
    void aNonStreamingClientThatDisconnectsIsCancelledToo() throws Exception {
        ObjectNode body = TestServer.chatBody("Keep talking", 4000, false);
        try (RawHttp client = new RawHttp(server.node.httpPort(), "/v1/chat/completions", body.toString())) {
            assertTrue(client.statusLine().contains(" 200 "));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (server.metric("mesh:num_requests_running") < 1) {
                assertTrue(System.nanoTime() < deadline, "request never ran");
                TestServer.sleep(10);
            }
        }
        awaitIdle();
    }

    @Test
    void aWebSocketCancelEndsTheRequestAndFreesItsBlocks() {
        try (TestServer.WsClient ws = server.websocket()) {
            ObjectNode frame = Json.MAPPER.createObjectNode().put("type", "chat.completions").put("id", "long");
            frame.set("body", TestServer.chatBody("Keep talking", 4000, true));
            ws.send(frame.toString());
            for (int i = 0; i < 5; i++) assertTrue(ws.next().has("chunk"));
            ws.send("{\"type\":\"cancel\",\"id\":\"long\"}");
            JsonNode end;
            do {
                end = ws.next();
            } while (end.has("chunk"));
            assertTrue(end.path("done").asBoolean() && end.path("cancelled").asBoolean(), end.toString());
            awaitIdle();
        }
    }

    @Test
    void closingAWebSocketCancelsItsRequests() {
        TestServer.WsClient ws = server.websocket();
        for (String id : List.of("x", "y")) {
            ObjectNode frame = Json.MAPPER.createObjectNode().put("type", "completions").put("id", id);
            frame.set("body", Json.MAPPER.createObjectNode().put("prompt", "Once upon a time").put("max_tokens", 4000));
            ws.send(frame.toString());
        }
        for (int i = 0; i < 6; i++) ws.next();
        ws.close();
        awaitIdle();
    }

    @Test
    void requestsBeyondTheAdmissionQueueGet429WithRetryAfter() throws Exception {
        List<RawHttp> held = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                RawHttp c = new RawHttp(server.node.httpPort(), "/v1/chat/completions", longStream("Fill slot " + i));
                held.add(c);
                String status = c.statusLine();
                assertTrue(status.contains(" 200 "), "request " + i + ": " + status);
                // Admission happens at step boundaries: wait until this one runs (the first two) or waits (the third).
                String gauge = i < 2 ? "mesh:num_requests_running" : "mesh:num_requests_waiting";
                double expected = i < 2 ? i + 1 : 1;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (server.metric(gauge) < expected) {
                    assertTrue(System.nanoTime() < deadline, "request " + i + " never reached " + gauge);
                    TestServer.sleep(10);
                }
            }
            HttpResponse<String> refused = server.post("/v1/chat/completions", TestServer.chatBody("One more", 8, true).toString());
            assertEquals(429, refused.statusCode(), refused.body());
            assertEquals("1", refused.headers().firstValue("Retry-After").orElse(null));
            JsonNode error = TestServer.json(refused.body()).path("error");
            assertEquals("rate_limit_error", error.path("type").asText());
            assertTrue(error.path("message").asText().contains("capacity"));
        } finally {
            for (RawHttp c : held) c.close();
        }
        awaitIdle();
        assertEquals(200, server.post("/v1/chat/completions", TestServer.chatBody("Now there is room", 4, false).toString()).statusCode());
    }

    @Test
    void aRepeatedSystemPromptIsServedFromThePrefixCache() {
        String system = "You are a careful assistant who answers in one short sentence and never uses lists or tables. "
                + "Always be polite, precise and brief, and mention no sources.";
        double hitsBefore = server.metric("mesh:prefix_cache_hits_total");
        double queriesBefore = server.metric("mesh:prefix_cache_queries_total");
        for (String user : List.of("What is rain?", "What is snow?")) {
            ObjectNode body = TestServer.chatBody(user, 4, false);
            var messages = body.putArray("messages");
            messages.addObject().put("role", "system").put("content", system);
            messages.addObject().put("role", "user").put("content", user);
            assertEquals(200, server.post("/v1/chat/completions", body.toString()).statusCode());
        }
        double hits = server.metric("mesh:prefix_cache_hits_total") - hitsBefore;
        double queries = server.metric("mesh:prefix_cache_queries_total") - queriesBefore;
        assertTrue(hits >= 16, "the second request reused at least one block of the system prompt: " + hits + " hit tokens");
        assertTrue(queries > hits, "queries count every prompt token");
    }
}
