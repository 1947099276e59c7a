package io.expertmesh.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.attention.SequenceEvent;
import io.expertmesh.gateway.api.Endpoint;
import io.expertmesh.gateway.api.LogprobsJson;
import io.expertmesh.gateway.api.ResponseFormatter;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * The OpenAI stream chunks one request's {@link SequenceEvent}s become, the same for SSE and the
 * WebSocket: when the request is queued, each choice's role chunk (chat) or echoed prompt
 * (completions with {@code echo}); a chunk per text delta, carrying its choice index and, if asked,
 * its tokens' log probabilities; each choice's finish chunk; and at the end, if the client asked,
 * the usage chunk. How a chunk is framed, and how a failure or a rejection is reported, is left to
 * each transport.
 */
final class StreamChunks {
    private final ResponseFormatter format;
    private final boolean includeUsage;
    private final String echo;
    /** Per choice, its log probabilities' builder; null when the request did not ask for them. */
    private final List<LogprobsJson> logprobs;
    private final int choices;

    /**
     * @param choices   how many choices the request has
     * @param echo      the text each choice starts with ("" for none)
     * @param tokenizer for the log probabilities' token texts; null when the request did not ask for them
     */
    StreamChunks(ResponseFormatter format, boolean includeUsage, int choices, String echo, Tokenizer tokenizer) {
        this.format = format;
        this.includeUsage = includeUsage;
        this.choices = choices;
        this.echo = echo;
        if (tokenizer == null) {
            this.logprobs = null;
        } else {
            this.logprobs = new ArrayList<>(choices);
            for (int i = 0; i < choices; i++) logprobs.add(new LogprobsJson(format.endpoint(), tokenizer, echo));
        }
    }

    /** The chunks {@code event} becomes, in order; none for a failure or a rejection. */
    List<ObjectNode> of(SequenceEvent event) {
        return switch (event) {
            case SequenceEvent.Queued _ -> {
                List<ObjectNode> opening = new ArrayList<>(choices);
                boolean chat = format.endpoint() == Endpoint.CHAT;
                for (int i = 0; i < choices && (chat || !echo.isEmpty()); i++) opening.add(format.chunk(i, chat ? "" : echo, chat, null, null));
                yield opening;
            }
            case SequenceEvent.TextDelta d -> List.of(format.chunk(d.choice(), d.text(), false, null,
                    logprobs == null ? null : logprobs.get(d.choice()).of(d.logprobs())));
            case SequenceEvent.ChoiceFinished f -> List.of(format.chunk(f.choice(), "", false, f.reason(), null));
            case SequenceEvent.Finished f -> includeUsage ? List.of(format.usageChunk(f.promptTokens(), f.completionTokens())) : List.of();
            case SequenceEvent.Failed _, SequenceEvent.Rejected _ -> List.of();
        };
    }
}
