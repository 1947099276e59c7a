package io.expertmesh.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.attention.SequenceEvent;
import io.expertmesh.gateway.api.Endpoint;
import io.expertmesh.gateway.api.ResponseFormatter;
import io.expertmesh.model.generate.FinishReason;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which chunks each scheduler event becomes; SSE and the WebSocket both send exactly these. */
class StreamChunksTest {
    private static final ResponseFormatter CHAT = new ResponseFormatter(Endpoint.CHAT, "ernie", "chatcmpl-abc", 1700000000L);
    private static final ResponseFormatter COMPLETION =
            new ResponseFormatter(Endpoint.COMPLETION, "ernie", "cmpl-abc", 1700000000L);
    private static final SequenceEvent.Finished FINISHED = new SequenceEvent.Finished("r", FinishReason.STOP, 12, 30);

    @Test
    void aQueuedChatRequestGetsTheRoleChunkAndACompletionNothing() {
        assertEquals(List.of(CHAT.chunk("", true, null)), new StreamChunks(CHAT, false).of(new SequenceEvent.Queued("r")));
        assertEquals(List.<ObjectNode>of(), new StreamChunks(COMPLETION, false).of(new SequenceEvent.Queued("r")));
    }

    @Test
    void eachTextDeltaIsOneChunk() {
        assertEquals(List.of(CHAT.chunk("Hi", false, null)), new StreamChunks(CHAT, false).of(new SequenceEvent.TextDelta("r", "Hi")));
        assertEquals(List.of(COMPLETION.chunk("Once", false, null)),
                new StreamChunks(COMPLETION, true).of(new SequenceEvent.TextDelta("r", "Once")));
    }

    @Test
    void finishedIsTheFinishChunkThenUsageWhenAsked() {
        assertEquals(List.of(CHAT.chunk("", false, FinishReason.STOP)), new StreamChunks(CHAT, false).of(FINISHED));
        assertEquals(List.of(CHAT.chunk("", false, FinishReason.STOP), CHAT.usageChunk(12, 30)), new StreamChunks(CHAT, true).of(FINISHED));
    }

    @Test
    void failuresAndRejectionsAreLeftToTheTransport() {
        assertEquals(List.<ObjectNode>of(), new StreamChunks(CHAT, true).of(new SequenceEvent.Failed("r", "boom")));
        assertEquals(List.<ObjectNode>of(), new StreamChunks(CHAT, true).of(
                new SequenceEvent.Rejected("r", SequenceEvent.Reason.QUEUE_FULL, "full")));
    }
}
