package io.expertmesh.attention;

import java.util.concurrent.atomic.AtomicLongArray;

/** Tokens routed to each expert on this node's attention side, summed over MoE layers. */
public final class ExpertLoad {
    private final AtomicLongArray tokens;

    public ExpertLoad(int experts) {
        this.tokens = new AtomicLongArray(experts);
    }

    public void add(int[] expertIds) {
        for (int e : expertIds) if (e >= 0) tokens.incrementAndGet(e);
    }

    public int experts() {
        return tokens.length();
    }

    public long tokens(int expert) {
        return tokens.get(expert);
    }
}
