package io.expertmesh.attention;

import java.util.Collections;
import java.util.List;

/**
 * Which host serves each routed expert, as seen by this node at one moment: immutable, versioned
 * (the version grows with every change). Per expert: its host's node (cluster address) and dispatch
 * link ({@code host:port}); both null while no host serves that expert.
 */
public record Placement(long version, List<String> nodes, List<String> links) {
    public static Placement empty(int experts) {
        return new Placement(0, Collections.nCopies(experts, null), Collections.nCopies(experts, null));
    }

    public int experts() {
        return links.size();
    }

    public String node(int expert) {
        return nodes.get(expert);
    }

    public String link(int expert) {
        return links.get(expert);
    }

    /** Whether every expert has a host. */
    public boolean complete() {
        return hosted() == links.size();
    }

    public int hosted() {
        int n = 0;
        for (String l : links) if (l != null) n++;
        return n;
    }
}
