package io.expertmesh.kvstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.config.ErnieConfig;
import org.junit.jupiter.api.Test;

/** Block budget, allocation and release. */
class KvBlockPoolTest {
    private static final ErnieConfig CONFIG = TinyModelDir.config();
    private static final int BS = 16;
    private static final long BLOCK_BYTES = 16384;

    private static KvBlockPool pool(int blocks) {
        return new KvBlockPool(CONFIG, BS, blocks * BLOCK_BYTES);
    }

    private static void assertAccounted(KvBlockPool pool) {
        assertEquals(pool.totalBlocks(), pool.freeBlocks() + pool.usedBlocks());
    }

    @Test
    void blockBytesCountEveryLayersKeysAndValues() {
        assertEquals(4L * 2 * BS * 32 * Float.BYTES, KvBlockPool.bytesPerBlock(CONFIG, BS));
        assertEquals(BLOCK_BYTES, KvBlockPool.bytesPerBlock(CONFIG, BS));
        assertEquals(BLOCK_BYTES / 2, KvBlockPool.bytesPerBlock(CONFIG, BS / 2));
    }

    @Test
    void blockCountFollowsTheByteBudgetRoundingDown() {
        assertEquals(1, new KvBlockPool(CONFIG, BS, BLOCK_BYTES).totalBlocks());
        assertEquals(10, new KvBlockPool(CONFIG, BS, 11 * BLOCK_BYTES - 1).totalBlocks());
        assertEquals(20, new KvBlockPool(CONFIG, BS / 2, 10 * BLOCK_BYTES).totalBlocks());
    }

    @Test
    void budgetSmallerThanOneBlockIsRejectedNamingBothSizes() {
        var e = assertThrows(IllegalArgumentException.class, () -> new KvBlockPool(CONFIG, BS, 1000));
        assertTrue(e.getMessage().contains("1000 bytes"), e.getMessage());
        assertTrue(e.getMessage().contains("16384 bytes"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new KvBlockPool(CONFIG, BS, BLOCK_BYTES - 1));
    }

    @Test
    void hugeBudgetAllocatesNoBlockUntilOneIsHandedOut() {
        // A terabyte: allocating it up front would exhaust any test heap.
        KvBlockPool pool = new KvBlockPool(CONFIG, BS, 1L << 40);
        assertEquals((1L << 40) / BLOCK_BYTES, pool.totalBlocks());
        KvBlockTable t = pool.newTable();
        assertTrue(t.reserve(100));
        assertEquals(7, t.blockCount());
        assertEquals(pool.totalBlocks() - 7, pool.freeBlocks());
    }

    @Test
    void newPoolHasEveryBlockFree() {
        KvBlockPool pool = pool(8);
        assertEquals(8, pool.freeBlocks());
        assertEquals(0, pool.usedBlocks());
        assertEquals(0.0, pool.usage());
        assertEquals(BS, pool.blockSize());
    }

    @Test
    void reserveAllocatesWholeBlocksCoveringThePositions() {
        KvBlockPool pool = pool(8);
        KvBlockTable t = pool.newTable();
        assertEquals(2, t.blocksNeeded(17));
        assertTrue(t.reserve(17));
        assertEquals(2, t.blockCount());
        assertEquals(32, t.capacity());
        assertEquals(6, pool.freeBlocks());
        assertEquals(2, pool.usedBlocks());
        assertEquals(0.25, pool.usage());
        assertAccounted(pool);
    }

    @Test
    void reserveTakesOnlyTheMissingBlocks() {
        KvBlockPool pool = pool(8);
        KvBlockTable t = pool.newTable();
        assertTrue(t.reserve(20));
        assertEquals(0, t.blocksNeeded(32));
        assertTrue(t.reserve(32));
        assertEquals(2, t.blockCount());
        assertEquals(1, t.blocksNeeded(33));
        assertTrue(t.reserve(33));
        assertEquals(3, t.blockCount());
        assertEquals(3, pool.usedBlocks());
    }

    @Test
    void reserveIsAllOrNothingWhenThePoolIsShort() {
        KvBlockPool pool = pool(4);
        KvBlockTable a = pool.newTable();
        KvBlockTable b = pool.newTable();
        assertTrue(a.reserve(48));
        assertFalse(b.reserve(32));
        assertEquals(0, b.blockCount());
        assertEquals(1, pool.freeBlocks());
        assertEquals(3, pool.usedBlocks());
        assertFalse(a.reserve(80));
        assertEquals(3, a.blockCount());
        assertTrue(b.reserve(16));
        assertEquals(0, pool.freeBlocks());
        assertAccounted(pool);
    }

    @Test
    void releaseReturnsEveryBlockAndIsIdempotent() {
        KvBlockPool pool = pool(4);
        KvBlockTable a = pool.newTable();
        assertTrue(a.reserve(64));
        assertEquals(0, pool.freeBlocks());
        a.release();
        assertEquals(0, a.blockCount());
        assertEquals(0, a.capacity());
        assertEquals(4, pool.freeBlocks());
        assertEquals(0, pool.usedBlocks());
        a.release();
        assertEquals(4, pool.freeBlocks());
        assertEquals(0, pool.usedBlocks());
        assertTrue(a.reserve(64));
        assertEquals(4, pool.usedBlocks());
    }

    @Test
    void releasedBlockArraysAreHandedOutAgain() {
        KvBlockPool pool = pool(1);
        KvBlockTable a = pool.newTable();
        assertTrue(a.reserve(1));
        float[] keys = a.keyBlock(0, 0);
        a.release();
        KvBlockTable b = pool.newTable();
        assertTrue(b.reserve(1));
        assertSame(keys, b.keyBlock(0, 0));
    }

    @Test
    void blocksHoldOneRowPerPositionForEachLayerAndForKeysAndValues() {
        KvBlockTable t = pool(2).newTable();
        assertTrue(t.reserve(BS));
        assertEquals(BS * CONFIG.kvDim(), t.keyBlock(0, 0).length);
        assertEquals(BS * CONFIG.kvDim(), t.valueBlock(3, 0).length);
        assertNotSame(t.keyBlock(0, 0), t.valueBlock(0, 0));
        assertNotSame(t.keyBlock(0, 0), t.keyBlock(1, 0));
    }

    @Test
    void ensureCapacityRefusesPositionsThatWereNotReserved() {
        KvBlockTable t = pool(4).newTable();
        assertTrue(t.reserve(20));
        t.ensureCapacity(32);
        var e = assertThrows(IllegalStateException.class, () -> t.ensureCapacity(33));
        assertTrue(e.getMessage().contains("reserve first"), e.getMessage());
        assertEquals(2, t.blockCount());
    }

    @Test
    void blocksBeyondTheTableCannotBeRead() {
        KvBlockTable t = pool(4).newTable();
        assertTrue(t.reserve(16));
        assertThrows(IndexOutOfBoundsException.class, () -> t.keyBlock(0, 1));
        t.release();
        assertThrows(IndexOutOfBoundsException.class, () -> t.valueBlock(0, 0));
    }
}
