package io.expertmesh.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.cuda.EmulatedGpu;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * {@code serve} with its engine on a GPU: the CUDA kernels run by the CPU emulator of the CUDA
 * execution model (see EmulatedGpu in the model module), driven by the real scheduler, whose KV
 * block ids are the GPU's KV blocks. Streams must give the CPU path's greedy text, alone, side by
 * side in one batch, and again from the prefix cache.
 */
class GpuServeTest {
    private static final String[] PROMPTS = {"Give me a short introduction to large language model.", "Count to five.",
            "Give me a short introduction to large language model."};
    private static final int MAX_TOKENS = 10;

    @Test
    void streamsFromTheGpuEngineEqualTheCpuGreedyTextAloneBatchedAndFromThePrefixCache() {
        var gpu = EmulatedGpu.open();
        try (ReferenceGenerator reference = new ReferenceGenerator();
             TestServer server = TestServer.start("", gpu)) {
            List<CompletableFuture<String>> together = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                String prompt = PROMPTS[i];
                together.add(CompletableFuture.supplyAsync(() -> stream(server, prompt)));
            }
            for (int i = 0; i < 2; i++) assertEquals(reference.greedyChat(PROMPTS[i], MAX_TOKENS).text(), together.get(i).join(), PROMPTS[i]);
            assertEquals(reference.greedyChat(PROMPTS[2], MAX_TOKENS).text(), stream(server, PROMPTS[2]), "repeated prompt");
            assertTrue(server.metric("mesh:prefix_cache_hits_total") > 0, "the repeated prompt reused cached blocks");
            assertEquals(0, server.metric("mesh:num_requests_running"));
            double routed = 0;
            for (String line : server.get("/metrics").body().split("\n")) {
                if (line.startsWith("mesh:expert_tokens_total{")) routed += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
            assertTrue(routed > 0, "the GPU's expert choices reach the per-expert token counts");
        }
    }

    private static String stream(TestServer server, String prompt) {
        HttpResponse<String> r = server.post("/v1/chat/completions", TestServer.chatBody(prompt, MAX_TOKENS, true).toString());
        assertEquals(200, r.statusCode(), r.body());
        List<JsonNode> events = TestServer.events(r);
        assertEquals("[DONE]", events.getLast().asText());
        return TestServer.text(events.subList(0, events.size() - 1));
    }
}
