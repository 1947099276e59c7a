package io.expertmesh.kvstore;

import io.expertmesh.kvstore.KvBlockPool.Block;
import io.expertmesh.model.engine.KvCache;
import java.util.Arrays;
import java.util.Objects;

/**
 * One sequence's KV cache: an ordered list of {@link KvBlockPool} blocks, where entry {@code b}
 * holds positions [b·blockSize, (b+1)·blockSize). Leading entries may be prefix-cache blocks shared
 * with other sequences; those are never written again, because the engine only writes positions
 * after the attached prefix.
 *
 * <p>A table belongs to one owner (the scheduler) and is not thread-safe. Block reads are lock-free:
 * the owner must not change the table while a forward step that uses it runs on another thread.
 */
public final class KvBlockTable implements KvCache {
    private final KvBlockPool pool;
    private final int blockSize;
    private Block[] blocks = new Block[0];
    private int count;
    // Leading blocks already offered to the prefix cache, and the chain position after them.
    private int settled;
    private long chainKey = KvBlockPool.ROOT_KEY;
    private long chainSerial = KvBlockPool.ROOT_SERIAL;

    KvBlockTable(KvBlockPool pool) {
        this.pool = pool;
        this.blockSize = pool.blockSize();
    }

    /**
     * Attaches the longest chain of cached full blocks that matches {@code tokens} from position 0,
     * leaving at least the last token to compute so the step yields its logits.
     *
     * @return the number of positions covered, a multiple of the block size
     * @throws IllegalStateException if the table already holds blocks
     */
    public int attachCachedPrefix(int[] tokens) {
        if (count > 0) throw new IllegalStateException("a cached prefix can only be attached to an empty block table");
        KvBlockPool.PrefixMatch match = pool.attach(tokens);
        Block[] got = match.blocks();
        grow(got.length);
        System.arraycopy(got, 0, blocks, 0, got.length);
        count = got.length;
        settled = got.length;
        chainKey = match.lastKey();
        chainSerial = match.lastSerial();
        return got.length * blockSize;
    }

    /**
     * Makes positions [0, tokens) addressable, allocating every missing block or none.
     *
     * @return false, with nothing allocated, when the pool has too few free blocks
     */
    public boolean reserve(int tokens) {
        int needed = blocksNeeded(tokens);
        if (needed == 0) return true;
        Block[] got = pool.allocate(needed);
        if (got == null) return false;
        grow(count + needed);
        System.arraycopy(got, 0, blocks, count, needed);
        count += needed;
        return true;
    }

    /** How many more blocks {@link #reserve reserve(tokens)} would take. */
    public int blocksNeeded(int tokens) {
        return Math.max(0, (tokens + blockSize - 1) / blockSize - count);
    }

    /** Positions addressable without reserving. */
    public int capacity() {
        return count * blockSize;
    }

    @Override
    public int blockCount() {
        return count;
    }

    /**
     * Offers every full block within [0, count) to the prefix cache; {@code tokens} are the
     * sequence's tokens and positions [0, count) must hold their final KV. A block whose key is
     * already cached stays this table's own. Blocks offered by an earlier call are skipped.
     */
    public void publishFullBlocks(int[] tokens, int count) {
        if (count > capacity()) {
            throw new IllegalArgumentException("cannot publish " + count + " positions of a table holding " + capacity());
        }
        if (tokens.length < count) {
            throw new IllegalArgumentException("publishing " + count + " positions needs as many tokens, got " + tokens.length);
        }
        int full = count / blockSize;
        // Once the chain is broken a later block could never be found by a lookup from position 0.
        for (int i = settled; i < full && chainSerial != KvBlockPool.BROKEN_CHAIN; i++) {
            long key = pool.chainKey(chainKey, tokens, i * blockSize);
            chainSerial = pool.publish(blocks[i], key, chainSerial, tokens, i * blockSize);
            chainKey = key;
        }
        settled = Math.max(settled, full);
    }

    /** Drops every block reference; the table is then empty and reusable. Releasing twice is harmless. */
    public void release() {
        pool.release(blocks, count);
        Arrays.fill(blocks, 0, count, null);
        count = 0;
        settled = 0;
        chainKey = KvBlockPool.ROOT_KEY;
        chainSerial = KvBlockPool.ROOT_SERIAL;
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    /** Checks only: blocks come from {@link #reserve}, which can fail, not from the engine. */
    @Override
    public void ensureCapacity(int tokens) {
        if (tokens > capacity()) {
            throw new IllegalStateException("block table holds " + capacity() + " positions but " + tokens
                    + " are needed; reserve first");
        }
    }

    @Override
    public float[] keyBlock(int layer, int block) {
        return blocks[Objects.checkIndex(block, count)].keys[layer];
    }

    @Override
    public float[] valueBlock(int layer, int block) {
        return blocks[Objects.checkIndex(block, count)].values[layer];
    }

    @Override
    public int blockId(int index) {
        return blocks[Objects.checkIndex(index, count)].id;
    }

    private void grow(int size) {
        if (size > blocks.length) blocks = Arrays.copyOf(blocks, Math.max(size, 2 * blocks.length));
    }
}
