package io.expertmesh.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.Json;
import io.expertmesh.model.generate.FinishReason;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The exact JSON text of each object, so field names, order and null fields are all checked. */
class ResponseFormatterTest {
    private static final ResponseFormatter CHAT = new ResponseFormatter(Endpoint.CHAT, "ernie", "chatcmpl-abc", 1700000000L);
    private static final ResponseFormatter COMPLETION =
            new ResponseFormatter(Endpoint.COMPLETION, "ernie", "cmpl-abc", 1700000000L);
    private static final String CHAT_HEAD = "{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"ernie\",";
    private static final String COMPLETION_HEAD = "{\"id\":\"cmpl-abc\",\"object\":\"text_completion\",\"created\":1700000000,\"model\":\"ernie\",";

    @Test
    void firstChatChunkCarriesTheRoleAndPossiblyEmptyContent() {
        assertEquals(CHAT_HEAD + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                + "\"logprobs\":null,\"finish_reason\":null}]}", CHAT.chunk(0, "", true, null, null).toString());
        assertEquals(CHAT_HEAD + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
                + "\"logprobs\":null,\"finish_reason\":null}]}", CHAT.chunk(0, "Hi", true, null, null).toString());
    }

    @Test
    void laterChatChunksCarryOnlyContent() {
        assertEquals(CHAT_HEAD + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\" there\"},"
                + "\"logprobs\":null,\"finish_reason\":null}]}", CHAT.chunk(0, " there", false, null, null).toString());
    }

    @Test
    void lastChatChunkCarriesTheFinishReasonWithOrWithoutText() {
        assertEquals(CHAT_HEAD + "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}",
                CHAT.chunk(0, "", false, FinishReason.STOP, null).toString());
        assertEquals(CHAT_HEAD + "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"length\"}]}",
                CHAT.chunk(0, null, false, FinishReason.LENGTH, null).toString());
        assertEquals(CHAT_HEAD + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"},\"logprobs\":null,"
                + "\"finish_reason\":\"length\"}]}", CHAT.chunk(0, "!", false, FinishReason.LENGTH, null).toString());
    }

    @Test
    void aOneChunkChatStreamHasRoleContentAndFinish() {
        assertEquals(CHAT_HEAD + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
                + "\"logprobs\":null,\"finish_reason\":\"stop\"}]}", CHAT.chunk(0, "", true, FinishReason.STOP, null).toString());
    }

    @Test
    void completionChunksCarryText() {
        assertEquals(COMPLETION_HEAD + "\"choices\":[{\"index\":0,\"text\":\"Once\",\"logprobs\":null,\"finish_reason\":null}]}",
                COMPLETION.chunk(0, "Once", true, null, null).toString());
        assertEquals(COMPLETION_HEAD + "\"choices\":[{\"index\":0,\"text\":\"\",\"logprobs\":null,\"finish_reason\":\"length\"}]}",
                COMPLETION.chunk(0, "", false, FinishReason.LENGTH, null).toString());
    }

    @Test
    void usageChunkHasNoChoicesAndTheTotals() {
        assertEquals(CHAT_HEAD + "\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":30,\"total_tokens\":42}}",
                CHAT.usageChunk(12, 30).toString());
        assertEquals(COMPLETION_HEAD + "\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":0,\"total_tokens\":1}}",
                COMPLETION.usageChunk(1, 0).toString());
    }

    @Test
    void completeChatBodyHasTheMessageAndUsage() {
        assertEquals("{\"id\":\"chatcmpl-abc\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"ernie\","
                        + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello \\\"you\\\"\"},"
                        + "\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                        + "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}",
                CHAT.complete(List.of(new ResponseFormatter.Choice("Hello \"you\"", FinishReason.STOP, null)), 5, 3).toString());
    }

    @Test
    void aChatChoiceThatCalledAToolHasNullContentItsCallsAndItsReasoning() {
        var call = new ParsedOutput.ToolCall("call_1", "get_weather", "{\"city\": \"Paris\"}");
        String body = CHAT.complete(List.of(new ResponseFormatter.Choice("", FinishReason.TOOL_CALLS, null, "Need weather.", List.of(call))),
                5, 3).toString();
        assertTrue(body.contains("\"message\":{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"Need weather.\","
                + "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
                + "\"arguments\":\"{\\\"city\\\": \\\"Paris\\\"}\"}}]},\"logprobs\":null,\"finish_reason\":\"tool_calls\""), body);
    }

    @Test
    void completeCompletionBodyHasTheTextAndUsage() {
        assertEquals(COMPLETION_HEAD + "\"choices\":[{\"index\":0,\"text\":\" upon a time\",\"logprobs\":null,"
                        + "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":4,\"total_tokens\":6}}",
                COMPLETION.complete(List.of(new ResponseFormatter.Choice(" upon a time", FinishReason.LENGTH, null)), 2, 4).toString());
    }

    @Test
    void eachChoiceKeepsItsIndexFinishAndLogprobs() {
        var logprobs = Json.MAPPER.createObjectNode().putNull("content");
        String body = CHAT.complete(List.of(new ResponseFormatter.Choice("a", FinishReason.STOP, logprobs),
                new ResponseFormatter.Choice("b", FinishReason.LENGTH, logprobs)), 5, 7).toString();
        assertTrue(body.contains("\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"a\"},"
                + "\"logprobs\":{\"content\":null},\"finish_reason\":\"stop\"},{\"index\":1,\"message\":{\"role\":\"assistant\","
                + "\"content\":\"b\"},\"logprobs\":{\"content\":null},\"finish_reason\":\"length\"}]"), body);
        assertEquals(COMPLETION_HEAD + "\"choices\":[{\"index\":2,\"text\":\"x\",\"logprobs\":{\"content\":null},\"finish_reason\":null}]}",
                COMPLETION.chunk(2, "x", false, null, logprobs).toString());
    }

    @Test
    void modelListNamesTheOneModel() {
        assertEquals("{\"object\":\"list\",\"data\":[{\"id\":\"ernie\",\"object\":\"model\",\"created\":1700000000,"
                + "\"owned_by\":\"expertmesh\"}]}", ResponseFormatter.modelList("ernie", 1700000000L).toString());
    }

    @Test
    void newRequestsGetAPrefixedRandomIdAndTheCurrentTime() {
        long before = Instant.now().getEpochSecond();
        ResponseFormatter chat = ResponseFormatter.forRequest(Endpoint.CHAT, "ernie");
        ResponseFormatter completion = ResponseFormatter.forRequest(Endpoint.COMPLETION, "ernie");
        assertTrue(chat.id().matches("chatcmpl-[0-9A-Za-z]{24}"), chat.id());
        assertTrue(completion.id().matches("cmpl-[0-9A-Za-z]{24}"), completion.id());
        assertNotEquals(chat.id(), ResponseFormatter.forRequest(Endpoint.CHAT, "ernie").id());
        assertTrue(chat.created() >= before && chat.created() <= Instant.now().getEpochSecond());
        assertEquals(chat.id(), chat.chunk(0, "x", true, null, null).get("id").asText());
    }
}
