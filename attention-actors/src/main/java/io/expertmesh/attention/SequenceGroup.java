package io.expertmesh.attention;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * The choices of one request: {@code n} sequences of the same prompt. Choice 0 reads the prompt
 * first; the others are held until its prompt's KV blocks are in the prefix cache, so they attach
 * them instead of computing the prompt again.
 */
final class SequenceGroup {
    final String id;
    final int promptLength;
    final ActorRef<SequenceEvent> replyTo;
    final long arrivalNanos;
    final List<Sequence> choices = new ArrayList<>();
    /** Choices waiting for choice 0's prompt, in index order. */
    final Deque<Sequence> held = new ArrayDeque<>();
    int unfinished;
    int completionTokens;
    /** Finished, failed or cancelled: no event follows. */
    boolean ended;

    SequenceGroup(String id, int promptLength, ActorRef<SequenceEvent> replyTo, long arrivalNanos) {
        this.id = id;
        this.promptLength = promptLength;
        this.replyTo = replyTo;
        this.arrivalNanos = arrivalNanos;
    }
}
