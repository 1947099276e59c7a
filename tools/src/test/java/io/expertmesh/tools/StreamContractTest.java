package io.expertmesh.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shape every healthy streamed chat completion of the soak must have, SSE and WebSocket alike. */
class StreamContractTest {
    private static JsonNode chunk(String choices) throws Exception {
        return Json.MAPPER.readTree("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":" + choices + "}");
    }

    private static List<JsonNode> stream(int tokens) throws Exception {
        List<JsonNode> chunks = new ArrayList<>();
        chunks.add(chunk("[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]"));
        chunks.add(chunk("[{\"index\":0,\"delta\":{\"content\":\" line\"},\"finish_reason\":null}]"));
        chunks.add(chunk("[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]"));
        chunks.add(Json.MAPPER.readTree("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,"
                + "\"completion_tokens\":" + tokens + ",\"total_tokens\":" + (tokens + 3) + "}}"));
        return chunks;
    }

    @Test
    void roleFirstOneFinishReasonThenTheUsageChunkIsHealthy() throws Exception {
        assertNull(StreamContract.violation(stream(4), 4));
    }

    @Test
    void aStreamWithoutRoleOrFinishOrUsageOrWithTooManyTokensIsNot() throws Exception {
        List<JsonNode> noRole = stream(4);
        noRole.removeFirst();
        assertEquals("first chunk is not the assistant's role", StreamContract.violation(noRole, 4).split(":")[0]);
        List<JsonNode> twoFinishes = stream(4);
        twoFinishes.add(2, twoFinishes.get(2));
        assertEquals("a second finish_reason in chunk 3", StreamContract.violation(twoFinishes, 4));
        List<JsonNode> noUsage = stream(4);
        noUsage.removeLast();
        assertEquals("expected exactly the usage chunk after the finish_reason, got 0", StreamContract.violation(noUsage, 4));
        assertEquals("completion_tokens 5 > max_tokens 4", StreamContract.violation(stream(5), 4));
        assertEquals("no chunk", StreamContract.violation(List.of(), 4));
    }
}
