package io.expertmesh.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.protocol.DispatchBatch;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;


/**
 * The actor path (per MoE layer a DispatchBatch to the expert host holding the sharded experts, the
 * shared expert in its own actor) gives exactly the tokens of the in-process fast path, with every
 * message serialized as if it crossed nodes ({@code serialize-messages = on}).
 */
class ActorPathTest {
    private static TestServer server;
    private static ReferenceGenerator reference;

    @BeforeAll
    static void start() {
        server = TestServer.start("expertmesh.dispatch.local-fast-path = off, pekko.actor.serialize-messages = on");
        reference = new ReferenceGenerator();
    }

    @AfterAll
    static void stop() {
        server.close();
        reference.close();
    }

    @Test
    void dispatchingThroughTheExpertActorsGivesTheFastPathsTokens() throws Exception {
        List<String> prompts = List.of("Give me a short introduction to large language model.", "Hello", "Why is the sky blue?");
        ExecutorService pool = Executors.newFixedThreadPool(prompts.size());
        try {
            List<CompletableFuture<String>> texts = new ArrayList<>();
            for (String p : prompts) {
                texts.add(CompletableFuture.supplyAsync(() -> TestServer.text(
                        TestServer.events(server.post("/v1/chat/completions", TestServer.chatBody(p, 24, true).toString()))), pool));
            }
            for (int i = 0; i < prompts.size(); i++) {
                assertEquals(reference.greedyChat(prompts.get(i), 24).text(), texts.get(i).get(), prompts.get(i));
            }
        } finally {
            pool.shutdownNow();
        }
        JsonNode cluster = TestServer.json(server.get("/cluster").body());
        long routed = 0;
        for (int e = 0; e < 64; e++) routed += cluster.path("expertTokens").path(Integer.toString(e)).asLong();
        assertTrue(routed > 0);
    }
}
