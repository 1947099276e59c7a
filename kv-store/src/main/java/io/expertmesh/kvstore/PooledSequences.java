package io.expertmesh.kvstore;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.ModelStep;
import io.expertmesh.model.engine.SequenceChunk;
import io.expertmesh.model.engine.SequenceEngine;
import java.util.List;

/**
 * Sequences run one at a time on a {@link ModelStep} (the CLI's generate and logits, benchmarks,
 * tests), each with a block table from a {@link KvBlockPool}: the same KV blocks and step the
 * server's scheduler uses, without its batching.
 */
public final class PooledSequences implements SequenceEngine {
    private final ModelStep model;
    private final KvBlockPool pool;

    public PooledSequences(ModelStep model, KvBlockPool pool) {
        this.model = model;
        this.pool = pool;
    }

    /** Positions per block of {@link #onHeap}'s pool: the server's default {@code expertmesh.kv.block-size}. */
    static final int HEAP_BLOCK = 16;

    /** On the CPU: a host pool with room for a sequence of the model's whole context (blocks get arrays only once used). */
    public static PooledSequences onHeap(ModelStep model) {
        ErnieConfig c = model.config();
        long blocks = (c.maxPositions() + HEAP_BLOCK - 1) / HEAP_BLOCK;
        return new PooledSequences(model, new KvBlockPool(c, HEAP_BLOCK, blocks * KvBlockPool.bytesPerBlock(c, HEAP_BLOCK)));
    }

    /** On a device whose KV memory holds {@code blocks} blocks of {@code blockSize} positions, at the pool's block ids. */
    public static PooledSequences onDevice(ModelStep model, int blockSize, int blocks) {
        ErnieConfig c = model.config();
        return new PooledSequences(model, KvBlockPool.deviceResident(c, blockSize, blocks * KvBlockPool.bytesPerBlock(c, blockSize)));
    }

    @Override
    public ErnieConfig config() {
        return model.config();
    }

    @Override
    public Sequence newSequence() {
        KvBlockTable table = pool.newTable();
        return new Sequence() {
            private int length;

            @Override
            public float[] append(int[] tokens) {
                int end = length + tokens.length;
                if (!table.reserve(end)) {
                    throw new IllegalStateException("the KV cache of " + pool.totalBlocks() + " blocks of " + pool.blockSize()
                            + " tokens has no room for " + end + " tokens");
                }
                float[] logits = model.forward(List.of(new SequenceChunk(table, length, tokens)), new int[] {tokens.length - 1}).logits().data();
                length = end;
                return logits;
            }

            @Override
            public void close() {
                table.release();
            }
        };
    }
}
