package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Scheduling under tight limits changes no token: with a KV cache too small for every running
 * sequence, sequences are preempted and recomputed; with a small token budget per step, long prompts
 * are prefilled in chunks beside running streams.
 */
class PreemptionTest {
    private static TestServer server;
    private static ReferenceGenerator reference;

    @BeforeAll
    static void start() {
        // 16 blocks of 16 tokens: each request needs up to 8, four at once need more.
        server = TestServer.start("expertmesh.kv.budget = 262144, expertmesh.scheduler { max-running = 4, max-batch-tokens = 16 }");
        reference = new ReferenceGenerator();
    }

    @AfterAll
    static void stop() {
        server.close();
        reference.close();
    }

    @Test
    void preemptedSequencesResumeWithIdenticalTokens() throws Exception {
        List<String> prompts = List.of("Tell me about the moon.", "Tell me about the sun.", "Tell me about the stars.", "Tell me about comets.");
        ExecutorService pool = Executors.newFixedThreadPool(prompts.size());
        try {
            List<CompletableFuture<String>> texts = new ArrayList<>();
            for (String p : prompts) {
                texts.add(CompletableFuture.supplyAsync(() -> {
                    var r = server.post("/v1/chat/completions", TestServer.chatBody(p, 100, false).toString());
                    assertEquals(200, r.statusCode(), r.body());
                    return TestServer.json(r.body()).path("choices").path(0).path("message").path("content").asText();
                }, pool));
            }
            for (int i = 0; i < prompts.size(); i++) {
                assertEquals(reference.greedyChat(prompts.get(i), 100).text(), texts.get(i).get(), prompts.get(i));
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(server.metric("mesh:num_preemptions_total") > 0, "the cache was too small, so some sequence was preempted");
        assertEquals(0.0, server.metric("mesh:kv_cache_usage_perc"));
    }

    @Test
    void aLongPromptIsPrefilledInChunksWhileAnotherStreamKeepsGoing() throws Exception {
        String longUser = "Please read this carefully. ".repeat(20) + "Now answer.";
        assertTrue(reference.chatPrompt(longUser).length > 100, "the prompt spans several 16-token steps");
        var running = CompletableFuture.supplyAsync(() -> TestServer.text(TestServer.events(
                server.post("/v1/chat/completions", TestServer.chatBody("Count slowly.", 60, true).toString()))));
        TestServer.sleep(50);
        var r = server.post("/v1/chat/completions", TestServer.chatBody(longUser, 20, false).toString());
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(reference.greedyChat(longUser, 20).text(),
                TestServer.json(r.body()).path("choices").path(0).path("message").path("content").asText());
        assertEquals(reference.greedyChat("Count slowly.", 60).text(), running.get());
    }
}
