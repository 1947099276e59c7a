package io.expertmesh.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.attention.SequenceEvent;
import io.expertmesh.gateway.api.Endpoint;
import io.expertmesh.gateway.api.LogprobsJson;
import io.expertmesh.gateway.api.OutputParsing;
import io.expertmesh.model.Json;
import io.expertmesh.gateway.api.ResponseFormatter;
import io.expertmesh.model.generate.FinishReason;
import io.expertmesh.model.sampling.TokenLogprobs;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which chunks each scheduler event becomes; SSE and the WebSocket both send exactly these. */
class StreamChunksTest {
    private static final ResponseFormatter CHAT = new ResponseFormatter(Endpoint.CHAT, "ernie", "chatcmpl-abc", 1700000000L);
    private static final ResponseFormatter COMPLETION =
            new ResponseFormatter(Endpoint.COMPLETION, "ernie", "cmpl-abc", 1700000000L);
    private static final SequenceEvent.Finished FINISHED = new SequenceEvent.Finished("r", 12, 30);

    private static StreamChunks chunks(ResponseFormatter format, boolean usage, int choices) {
        return new StreamChunks(format, usage, choices, "", null, OutputParsing.NONE, false);
    }

    @Test
    void aQueuedChatRequestGetsARoleChunkPerChoiceAndACompletionNothing() {
        assertEquals(List.of(CHAT.chunk(0, "", true, null, null), CHAT.chunk(1, "", true, null, null)),
                chunks(CHAT, false, 2).of(new SequenceEvent.Queued("r")));
        assertEquals(List.<ObjectNode>of(), chunks(COMPLETION, false, 2).of(new SequenceEvent.Queued("r")));
    }

    @Test
    void anEchoingCompletionSendsThePromptFirstInEachChoice() {
        assertEquals(List.of(COMPLETION.chunk(0, "Once", false, null, null), COMPLETION.chunk(1, "Once", false, null, null)),
                new StreamChunks(COMPLETION, false, 2, "Once", null, OutputParsing.NONE, false).of(new SequenceEvent.Queued("r")));
    }

    private static List<String> deltas(StreamChunks chunks, List<SequenceEvent> events) {
        return events.stream().flatMap(e -> chunks.of(e).stream())
                .map(c -> Json.write(c.get("choices").get(0).get("delta")) + " " + c.get("choices").get(0).get("finish_reason"))
                .toList();
    }

    @Test
    void aToolCallStreamsAsToolCallDeltasAndFinishesWithToolCalls() {
        StreamChunks chunks = new StreamChunks(CHAT, false, 1, "", null, new OutputParsing(false, true), false);
        List<String> got = deltas(chunks, List.of(
                new SequenceEvent.TextDelta("r", 0, "<tool_call>\n{\"name\": \"get_weather\", \"argu", List.of()),
                new SequenceEvent.TextDelta("r", 0, "ments\": {\"city\":", List.of()),
                new SequenceEvent.TextDelta("r", 0, " \"Paris\"}}\n</tool_call>", List.of()),
                new SequenceEvent.ChoiceFinished("r", 0, FinishReason.STOP, 9)));
        assertEquals(4, got.size(), got.toString());
        assertEquals(true, got.get(0).matches("\\{\"tool_calls\":\\[\\{\"index\":0,\"id\":\"call_[0-9A-Za-z]{24}\",\"type\":\"function\","
                + "\"function\":\\{\"name\":\"get_weather\",\"arguments\":\"\"}}]} null"), got.get(0));
        assertEquals("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]} null", got.get(1));
        assertEquals("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\" \\\"Paris\\\"}\"}}]} null", got.get(2));
        assertEquals("{} \"tool_calls\"", got.get(3));
    }

    @Test
    void withAReasoningParserReasoningAndAnswerStreamApart() {
        StreamChunks chunks = new StreamChunks(CHAT, false, 1, "", null, new OutputParsing(true, false), false);
        assertEquals(List.of("{\"reasoning_content\":\"2+2\"} null", "{\"content\":\"4\"} null", "{} \"stop\""), deltas(chunks, List.of(
                new SequenceEvent.TextDelta("r", 0, "2+2</th", List.of()),
                new SequenceEvent.TextDelta("r", 0, "ink>\n4", List.of()),
                new SequenceEvent.ChoiceFinished("r", 0, FinishReason.STOP, 5))));
    }

    @Test
    void eachTextDeltaIsOneChunkOfItsChoice() {
        assertEquals(List.of(CHAT.chunk(0, "Hi", false, null, null)),
                chunks(CHAT, false, 1).of(new SequenceEvent.TextDelta("r", 0, "Hi", List.of())));
        assertEquals(List.of(COMPLETION.chunk(2, "Once", false, null, null)),
                chunks(COMPLETION, true, 3).of(new SequenceEvent.TextDelta("r", 2, "Once", List.of())));
    }

    @Test
    void aDeltaCarriesItsTokensLogprobsWhenAsked() {
        Tokenizer tokenizer = Tokenizer.load(Path.of(System.getProperty("expertmesh.tinyModel", "../models/tiny-ernie-4.5-moe")));
        var lp = new TokenLogprobs(10, -0.5f, new int[] {10}, new float[] {-0.5f});
        var delta = new SequenceEvent.TextDelta("r", 1, "\n", List.of(lp));
        assertEquals(List.of(CHAT.chunk(1, "\n", false, null, new LogprobsJson(Endpoint.CHAT, tokenizer, "").of(List.of(lp)))),
                new StreamChunks(CHAT, false, 2, "", tokenizer, OutputParsing.NONE, false).of(delta));
    }

    @Test
    void eachChoiceFinishesWithItsOwnChunkAndTheRequestWithUsageWhenAsked() {
        var choiceDone = new SequenceEvent.ChoiceFinished("r", 1, FinishReason.STOP, 15);
        assertEquals(List.of(CHAT.chunk(1, "", false, FinishReason.STOP, null)), chunks(CHAT, false, 2).of(choiceDone));
        assertEquals(List.<ObjectNode>of(), chunks(CHAT, false, 2).of(FINISHED));
        assertEquals(List.of(CHAT.usageChunk(12, 30)), chunks(CHAT, true, 2).of(FINISHED));
    }

    @Test
    void failuresAndRejectionsAreLeftToTheTransport() {
        assertEquals(List.<ObjectNode>of(), chunks(CHAT, true, 1).of(new SequenceEvent.Failed("r", "boom")));
        assertEquals(List.<ObjectNode>of(), chunks(CHAT, true, 1).of(
                new SequenceEvent.Rejected("r", SequenceEvent.Reason.QUEUE_FULL, "full")));
    }
}
