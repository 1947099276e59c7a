package io.expertmesh.protocol;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * What other nodes say to an expert host and hear back: attention nodes find hosts through the
 * Receptionist under {@link #SERVICE_KEY}, subscribe, and learn which experts each host serves and
 * at which dispatch link. Batches themselves travel on the dispatch link, not as actor messages.
 */
public final class ExpertHostProtocol {
    public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "expert-host");

    /** A message to an expert host. Not sealed: the host adds messages of its own node that never cross the wire. */
    public interface Command {}

    /** Asks for the host's experts now and after every change. */
    public record Subscribe(ActorRef<HostedExperts> subscriber) implements Command, MeshMessage {}

    /** The experts a host serves and its dispatch link ({@code host:port}); {@code version} grows with every change on that host. */
    public record HostedExperts(ActorRef<Command> host, String node, String link, int[] experts, long version) implements MeshMessage {}

    private ExpertHostProtocol() {}
}
