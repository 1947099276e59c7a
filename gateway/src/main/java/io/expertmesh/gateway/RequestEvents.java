package io.expertmesh.gateway;

import io.expertmesh.attention.SequenceEvent;
import java.util.Optional;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSource;

/**
 * One request's events as a stream: the actor reference the scheduler sends them to, and a source
 * that ends after the terminal event. The buffer holds every event a request can produce (up to
 * 65536), so a slow client never makes the scheduler wait or lose tokens.
 */
final class RequestEvents {
    private RequestEvents() {}

    /** @param maxEvents how many text and finish events the request's choices can produce at most */
    static Pair<ActorRef<SequenceEvent>, Source<SequenceEvent, NotUsed>> open(ActorSystem<?> system, int maxEvents) {
        int buffer = Math.max(64, Math.min(maxEvents + 16, 1 << 16));
        Pair<ActorRef<SequenceEvent>, Source<SequenceEvent, NotUsed>> pair = ActorSource.<SequenceEvent>actorRef(
                e -> false, e -> Optional.empty(), buffer, OverflowStrategy.fail()).preMaterialize(system);
        return Pair.create(pair.first(), pair.second().takeWhile(e -> !e.terminal(), true));
    }
}
