package io.expertmesh.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.attention.SequenceEvent;
import io.expertmesh.gateway.api.Endpoint;
import io.expertmesh.gateway.api.LogprobsJson;
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
        return new StreamChunks(format, usage, choices, "", null);
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
                new StreamChunks(COMPLETION, false, 2, "Once", null).of(new SequenceEvent.Queued("r")));
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
                new StreamChunks(CHAT, false, 2, "", tokenizer).of(delta));
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
