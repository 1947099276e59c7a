package io.expertmesh.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.attention.SequenceEvent;
import io.expertmesh.gateway.api.ChatOutputParser;
import io.expertmesh.gateway.api.Endpoint;
import io.expertmesh.gateway.api.LogprobsJson;
import io.expertmesh.gateway.api.OutputParsing;
import io.expertmesh.gateway.api.OutputPiece;
import io.expertmesh.gateway.api.ResponseFormatter;
import io.expertmesh.model.generate.FinishReason;
import io.expertmesh.model.tokenizer.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * The OpenAI stream chunks one request's {@link SequenceEvent}s become, the same for SSE and the
 * WebSocket: when the request is queued, each choice's role chunk (chat) or echoed prompt
 * (completions with {@code echo}; with {@code logprobs} too, the echo waits for the prompt's log
 * probabilities and carries them); a chunk per text delta, carrying its choice index and, if asked,
 * its tokens' log probabilities; each choice's finish chunk; and at the end, if the client asked,
 * the usage chunk. A chat request whose output is parsed ({@link OutputParsing}) gets a chunk per
 * parsed piece instead: content, reasoning_content or a tool_calls delta; text that could begin a
 * tag waits for the next delta, and a choice that called tools finishes with {@code tool_calls}.
 * How a chunk is framed, and how a failure or a rejection is reported, is left to
 * each transport.
 */
final class StreamChunks {
    private final ResponseFormatter format;
    private final boolean includeUsage;
    private final String echo;
    /** Per choice, its log probabilities' builder; null when the request did not ask for them. */
    private final List<LogprobsJson> logprobs;
    private final int choices;
    /** The echo waits for the prompt's log probabilities. */
    private final boolean promptLogprobs;
    /** Per choice, its output parser; null when the output is passed on as it comes. */
    private final List<ChatOutputParser> parsers;

    /**
     * @param choices   how many choices the request has
     * @param echo      the text each choice starts with ("" for none)
     * @param tokenizer for the log probabilities' token texts; null when the request did not ask for them
     * @param promptLogprobs whether the request asked for the echoed prompt's log probabilities (needs a tokenizer)
     */
    StreamChunks(ResponseFormatter format, boolean includeUsage, int choices, String echo, Tokenizer tokenizer, OutputParsing parsing,
                 boolean promptLogprobs) {
        this.format = format;
        this.promptLogprobs = promptLogprobs;
        if (parsing.active()) {
            this.parsers = new ArrayList<>(choices);
            for (int i = 0; i < choices; i++) parsers.add(parsing.parser());
        } else {
            this.parsers = null;
        }
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
                for (int i = 0; i < choices && (chat || !echo.isEmpty() && !promptLogprobs); i++) {
                    opening.add(format.chunk(i, chat ? "" : echo, chat, null, null));
                }
                yield opening;
            }
            case SequenceEvent.PromptLogprobs p -> {
                List<ObjectNode> echoes = new ArrayList<>(choices);
                for (int i = 0; i < choices; i++) {
                    echoes.add(format.chunk(i, echo, false, null, logprobs.get(i).withPrompt(p.firstToken(), p.logprobs(), List.of())));
                }
                yield echoes;
            }
            case SequenceEvent.TextDelta d -> {
                ObjectNode lp = logprobs == null ? null : logprobs.get(d.choice()).of(d.logprobs());
                if (parsers == null) yield List.of(format.chunk(d.choice(), d.text(), false, null, lp));
                yield pieces(d.choice(), parsers.get(d.choice()).feed(d.text()), lp);
            }
            case SequenceEvent.ChoiceFinished f -> {
                if (parsers == null) yield List.of(format.chunk(f.choice(), "", false, f.reason(), null));
                ChatOutputParser parser = parsers.get(f.choice());
                List<ObjectNode> chunks = new ArrayList<>(pieces(f.choice(), parser.finish(), null));
                chunks.add(format.chunk(f.choice(), "", false, finishReason(parser, f.reason()), null));
                yield chunks;
            }
            case SequenceEvent.Finished f -> includeUsage ? List.of(format.usageChunk(f.promptTokens(), f.completionTokens())) : List.of();
            case SequenceEvent.Failed _, SequenceEvent.Rejected _ -> List.of();
        };
    }

    /** A chunk per piece; the delta's log probabilities ride on the first, or on an empty delta when all its text is held back. */
    private List<ObjectNode> pieces(int choice, List<OutputPiece> pieces, ObjectNode logprobs) {
        if (pieces.isEmpty()) return logprobs == null ? List.of() : List.of(format.chunk(choice, "", false, null, logprobs));
        List<ObjectNode> chunks = new ArrayList<>(pieces.size());
        for (int i = 0; i < pieces.size(); i++) chunks.add(format.pieceChunk(choice, pieces.get(i), i == 0 ? logprobs : null));
        return chunks;
    }

    /** A choice that stopped after calling tools finished with {@code tool_calls}; one cut off by the token limit with {@code length}. */
    static FinishReason finishReason(ChatOutputParser parser, FinishReason reason) {
        return parser.calledTools() && reason == FinishReason.STOP ? FinishReason.TOOL_CALLS : reason;
    }
}
