package io.expertmesh.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.attention.SequenceEvent;
import io.expertmesh.gateway.api.Endpoint;
import io.expertmesh.gateway.api.ResponseFormatter;
import java.util.List;

/**
 * The OpenAI stream chunks one request's {@link SequenceEvent}s become, the same for SSE and the
 * WebSocket: the role chunk when a chat request is queued, a chunk per text delta, then the finish
 * chunk and, if the client asked, the usage chunk. How a chunk is framed, and how a failure or a
 * rejection is reported, is left to each transport.
 *
 * @param format       the request's response shapes and id
 * @param includeUsage whether the usage chunk follows the finish chunk
 */
record StreamChunks(ResponseFormatter format, boolean includeUsage) {

    /** The chunks {@code event} becomes, in order; none for a failure or a rejection. */
    List<ObjectNode> of(SequenceEvent event) {
        return switch (event) {
            case SequenceEvent.Queued q -> format.endpoint() == Endpoint.CHAT ? List.of(format.chunk("", true, null)) : List.of();
            case SequenceEvent.TextDelta d -> List.of(format.chunk(d.text(), false, null));
            case SequenceEvent.Finished f -> includeUsage
                    ? List.of(format.chunk("", false, f.reason()), format.usageChunk(f.promptTokens(), f.completionTokens()))
                    : List.of(format.chunk("", false, f.reason()));
            case SequenceEvent.Failed _, SequenceEvent.Rejected _ -> List.of();
        };
    }
}
