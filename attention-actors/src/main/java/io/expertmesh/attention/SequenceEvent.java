package io.expertmesh.attention;

import io.expertmesh.model.generate.FinishReason;
import io.expertmesh.model.sampling.TokenLogprobs;
import java.util.List;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;

/**
 * What the scheduler tells a request's owner (the gateway on the same node), in order: Queued or
 * Rejected, then PromptLogprobs if asked for, then each choice's text deltas and its ChoiceFinished
 * (the choices of a request for several interleaved), then Finished once every choice has, or Failed.
 */
public sealed interface SequenceEvent extends NoSerializationVerificationNeeded {
    String requestId();

    /** Whether no event follows this one. */
    default boolean terminal() {
        return this instanceof Rejected || this instanceof Finished || this instanceof Failed;
    }

    /** Accepted into the admission queue. */
    record Queued(String requestId) implements SequenceEvent {}

    /** Not accepted; nothing else follows. */
    record Rejected(String requestId, Reason reason, String message) implements SequenceEvent {}

    enum Reason {
        /** The admission queue is full: try again later. */
        QUEUE_FULL,
        /** The server is shutting down. */
        DRAINING,
        /** The request can never fit the KV cache or context. */
        TOO_LARGE
    }

    /**
     * The prompt's log probabilities, for a request that asked for them: its first token (which has
     * none) and, for each later prompt token, its log probability given the tokens before it, from
     * the model's raw logits. Sent once, before the first {@link TextDelta}; they belong to every choice.
     */
    record PromptLogprobs(String requestId, int firstToken, List<TokenLogprobs> logprobs) implements SequenceEvent {
        public PromptLogprobs {
            logprobs = List.copyOf(logprobs);
        }
    }

    /**
     * New output text of choice {@code choice}: complete UTF-8, never part of a stop string; and,
     * when the request asked for them, the log probabilities of the tokens sampled since the
     * previous delta (so the text may be empty when only a held-back or stop token is left).
     */
    record TextDelta(String requestId, int choice, String text, List<TokenLogprobs> logprobs) implements SequenceEvent {
        public TextDelta {
            logprobs = List.copyOf(logprobs);
        }
    }

    /** Choice {@code choice} ended after {@code completionTokens} tokens; other choices may go on. */
    record ChoiceFinished(String requestId, int choice, FinishReason reason, int completionTokens) implements SequenceEvent {}

    /** Every choice ended; {@code completionTokens} counts all choices' tokens, the prompt is counted once. */
    record Finished(String requestId, int promptTokens, int completionTokens) implements SequenceEvent {}

    record Failed(String requestId, String message) implements SequenceEvent {}
}
