package io.expertmesh.experts;

import java.util.Collections;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * Which host serves each routed expert, as seen by this node at one moment: immutable, versioned
 * (the version grows with every change). Per expert: the host, its node's cluster address and its
 * dispatch link ({@code host:port}); all null while no host serves that expert.
 */
public record Placement(long version, List<ActorRef<ExpertHost.Command>> hosts, List<String> nodes, List<String> links) {
    public static Placement empty(int experts) {
        return new Placement(0, Collections.nCopies(experts, null), Collections.nCopies(experts, null), Collections.nCopies(experts, null));
    }

    public int experts() {
        return hosts.size();
    }

    public ActorRef<ExpertHost.Command> host(int expert) {
        return hosts.get(expert);
    }

    public String node(int expert) {
        return nodes.get(expert);
    }

    public String link(int expert) {
        return links.get(expert);
    }

    /** Whether every expert has a host. */
    public boolean complete() {
        return hosted() == hosts.size();
    }

    public int hosted() {
        int n = 0;
        for (var h : hosts) if (h != null) n++;
        return n;
    }
}
