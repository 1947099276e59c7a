package io.expertmesh.model.engine;

import io.expertmesh.model.config.ErnieConfig;
import java.util.List;

/**
 * Test sequences one at a time on a {@link ModelStep}, each with its own heap KV blocks: sequence
 * {@code i} has block ids from {@code i × blocksPerSequence}, so on a GPU they share its KV memory
 * without overlapping. (The server and the CLI take blocks from a kv-store pool instead.)
 */
public final class HeapSequences implements SequenceEngine {
    private final ModelStep model;
    private final int blocksPerSequence;
    private int opened;

    public HeapSequences(ModelStep model, int blocksPerSequence) {
        this.model = model;
        this.blocksPerSequence = blocksPerSequence;
    }

    /** On the CPU, where block ids are not used. */
    public HeapSequences(ModelStep model) {
        this(model, 0);
    }

    @Override
    public ErnieConfig config() {
        return model.config();
    }

    /** A new sequence's KV blocks, after those of every sequence opened before. */
    public SequenceKvCache newCache() {
        return new SequenceKvCache(model.config(), SequenceKvCache.DEFAULT_BLOCK, opened++ * blocksPerSequence);
    }

    @Override
    public Sequence newSequence() {
        SequenceKvCache cache = newCache();
        return new Sequence() {
            private int length;

            @Override
            public float[] append(int[] tokens) {
                float[] logits = model.forward(List.of(new SequenceChunk(cache, length, tokens)), new int[] {tokens.length - 1}).logits().data();
                length += tokens.length;
                return logits;
            }

            @Override
            public void close() {}
        };
    }
}
