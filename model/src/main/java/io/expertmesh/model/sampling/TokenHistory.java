package io.expertmesh.model.sampling;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.function.IntConsumer;

/** The tokens a sequence has seen, for penalties: every prompt or output token, and counts of output tokens. */
public final class TokenHistory {
    private final BitSet seen = new BitSet();
    private final Map<Integer, Integer> generatedCounts = new HashMap<>();
    private int generated;

    public TokenHistory(int[] prompt) {
        for (int id : prompt) seen.set(id);
    }

    public void addGenerated(int id) {
        seen.set(id);
        generatedCounts.merge(id, 1, Integer::sum);
        generated++;
    }

    public int generatedCount() {
        return generated;
    }

    void forEachSeen(IntConsumer action) {
        seen.stream().forEach(action);
    }

    void forEachGenerated(CountConsumer action) {
        generatedCounts.forEach(action::accept);
    }

    @FunctionalInterface
    interface CountConsumer {
        void accept(int id, int count);
    }
}
