package io.expertmesh.attention;

import io.expertmesh.model.generate.FinishReason;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;

/**
 * What the scheduler tells a request's owner (the gateway on the same node), in order: Queued or
 * Rejected, then text deltas, then Finished or Failed.
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

    /** New output text: complete UTF-8, never part of a stop string. */
    record TextDelta(String requestId, String text) implements SequenceEvent {}

    record Finished(String requestId, FinishReason reason, int promptTokens, int completionTokens) implements SequenceEvent {}

    record Failed(String requestId, String message) implements SequenceEvent {}
}
