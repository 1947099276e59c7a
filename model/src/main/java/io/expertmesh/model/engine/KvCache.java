package io.expertmesh.model.engine;

/**
 * Keys and values of one sequence, per layer, in blocks of {@link #blockSize()} positions. Block
 * {@code b} of a layer holds positions [b·blockSize, (b+1)·blockSize), each a row of
 * {@code kvHeads × headDim} floats, so attention reads through a block table whether the blocks
 * are the sequence's own or come from a shared pool. A GPU step reaches blocks by {@link #blockId}
 * only: their keys and values live in device memory.
 */
public interface KvCache {
    int blockSize();

    /** Makes positions [0, tokens) addressable. */
    void ensureCapacity(int tokens);

    float[] keyBlock(int layer, int block);

    float[] valueBlock(int layer, int block);

    /** Blocks addressable now: positions [0, blockCount · blockSize). */
    int blockCount();

    /** Where block {@code block} lives in its pool: the index of its keys and values in a device's KV memory. */
    int blockId(int block);
}
