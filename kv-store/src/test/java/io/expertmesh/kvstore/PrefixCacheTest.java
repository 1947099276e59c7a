package io.expertmesh.kvstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.config.ErnieConfig;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Publishing full blocks, attaching cached prefixes, token counters and eviction. */
class PrefixCacheTest {
    private static final ErnieConfig CONFIG = TinyModelDir.config();
    private static final int BS = 16;

    private static KvBlockPool pool(int blocks) {
        return new KvBlockPool(CONFIG, BS, blocks * KvBlockPool.bytesPerBlock(CONFIG, BS));
    }

    private static int[] tokens(int length, int seed) {
        int[] t = new int[length];
        for (int i = 0; i < length; i++) t[i] = (seed * 7919 + i * 104729) % 4096;
        return t;
    }

    /** A table that computed and published all of {@code prompt}. */
    private static KvBlockTable computed(KvBlockPool pool, int[] prompt) {
        KvBlockTable t = pool.newTable();
        assertTrue(t.reserve(prompt.length));
        t.publishFullBlocks(prompt, prompt.length);
        return t;
    }

    @Test
    void promptSharingFirst40TokensAttachesTwoFullBlocks() {
        KvBlockPool pool = pool(16);
        int[] first = tokens(40, 1);
        KvBlockTable a = pool.newTable();
        assertEquals(0, a.attachCachedPrefix(first));
        assertTrue(a.reserve(first.length));
        a.publishFullBlocks(first, first.length);

        int[] second = Arrays.copyOf(first, 50);
        for (int i = 40; i < 50; i++) second[i] = 3000 + i;
        KvBlockTable b = pool.newTable();
        assertEquals(32, b.attachCachedPrefix(second));
        assertEquals(2, b.blockCount());
        assertEquals(a.blockId(0), b.blockId(0));
        assertEquals(a.blockId(1), b.blockId(1));
        assertEquals(40 + 50, pool.prefixQueries());
        assertEquals(32, pool.prefixHits());
        assertEquals(3, pool.usedBlocks());
        assertEquals(2, pool.refCount(a.blockId(0)));
    }

    @Test
    void promptDifferingInToken5AttachesNothing() {
        KvBlockPool pool = pool(16);
        int[] first = tokens(40, 1);
        computed(pool, first);
        int[] second = first.clone();
        second[5]++;
        KvBlockTable b = pool.newTable();
        assertEquals(0, b.attachCachedPrefix(second));
        assertEquals(0, b.blockCount());
        assertEquals(40, pool.prefixQueries());
        assertEquals(0, pool.prefixHits());
    }

    @Test
    void promptDifferingInItsSecondBlockAttachesOnlyTheFirst() {
        KvBlockPool pool = pool(16);
        int[] first = tokens(40, 1);
        computed(pool, first);
        int[] second = first.clone();
        second[20]++;
        assertEquals(16, pool.newTable().attachCachedPrefix(second));
    }

    @Test
    void promptOfExactlyTwoCachedBlocksLeavesTheLastTokenToCompute() {
        KvBlockPool pool = pool(16);
        int[] prompt = tokens(32, 1);
        computed(pool, prompt);
        KvBlockTable b = pool.newTable();
        assertEquals(16, b.attachCachedPrefix(prompt));
        assertEquals(1, b.blockCount());
        assertEquals(16, pool.prefixHits());
        assertEquals(32, pool.prefixQueries());
        assertEquals(32, pool.newTable().attachCachedPrefix(tokens(33, 1)));
    }

    @Test
    void onlyFullBlocksWithinTheWrittenPositionsArePublished() {
        KvBlockPool pool = pool(16);
        int[] prompt = tokens(60, 1);
        KvBlockTable a = pool.newTable();
        assertTrue(a.reserve(60));
        a.publishFullBlocks(prompt, 31);
        assertEquals(1, pool.cachedBlocks());
        assertTrue(pool.isCached(a.blockId(0)));
        assertFalse(pool.isCached(a.blockId(1)));
        assertEquals(16, pool.newTable().attachCachedPrefix(prompt));
        a.publishFullBlocks(prompt, 60);
        assertEquals(3, pool.cachedBlocks());
        a.publishFullBlocks(prompt, 60);
        assertEquals(3, pool.cachedBlocks());
        assertEquals(48, pool.newTable().attachCachedPrefix(prompt));
    }

    @Test
    void releasedTableStartsPublishingItsNextSequenceFromBlockZero() {
        KvBlockPool pool = pool(16);
        KvBlockTable t = computed(pool, tokens(40, 1));
        t.release();
        int[] next = tokens(40, 2);
        assertTrue(t.reserve(next.length));
        t.publishFullBlocks(next, next.length);
        assertEquals(32, pool.newTable().attachCachedPrefix(next));
    }

    @Test
    void publishingBeyondTheReservedPositionsIsRefused() {
        KvBlockTable a = pool(16).newTable();
        assertTrue(a.reserve(16));
        assertThrows(IllegalArgumentException.class, () -> a.publishFullBlocks(tokens(40, 1), 32));
        assertThrows(IllegalArgumentException.class, () -> a.publishFullBlocks(tokens(8, 1), 16));
    }

    @Test
    void attachingToATableThatHoldsBlocksIsRefused() {
        KvBlockTable t = pool(4).newTable();
        assertTrue(t.reserve(1));
        assertThrows(IllegalStateException.class, () -> t.attachCachedPrefix(tokens(40, 1)));
    }

    @Test
    void releasedCachedBlocksCountAsFreeAndAreStillFound() {
        KvBlockPool pool = pool(4);
        int[] prompt = tokens(40, 1);
        KvBlockTable a = computed(pool, prompt);
        a.release();
        assertEquals(4, pool.freeBlocks());
        assertEquals(0, pool.usedBlocks());
        assertEquals(2, pool.cachedBlocks());
        KvBlockTable b = pool.newTable();
        assertEquals(32, b.attachCachedPrefix(prompt));
        assertEquals(2, pool.usedBlocks());
        assertEquals(2, pool.freeBlocks());
    }

    @Test
    void allocationPrefersNeverUsedBlocksToEvictingCachedOnes() {
        KvBlockPool pool = pool(4);
        int[] prompt = tokens(40, 1);
        computed(pool, prompt).release();
        assertTrue(pool.newTable().reserve(1));
        assertEquals(2, pool.cachedBlocks());
        assertEquals(32, pool.newTable().attachCachedPrefix(prompt));
    }

    @Test
    void evictionTakesTheLeastRecentlyUsedCachedBlockAndForgetsIt() {
        KvBlockPool pool = pool(4);
        int[] prompt = tokens(49, 1);
        KvBlockTable a = computed(pool, prompt);
        int tail = a.blockId(2);
        a.release();
        assertEquals(3, pool.cachedBlocks());
        assertEquals(4, pool.freeBlocks());

        // One never-used block, then the least recently used cached block: the tail of the chain.
        KvBlockTable b = pool.newTable();
        assertTrue(b.reserve(32));
        assertEquals(tail, b.blockId(1));
        assertEquals(2, pool.cachedBlocks());
        assertFalse(pool.isCached(tail));

        KvBlockTable c = pool.newTable();
        assertEquals(32, c.attachCachedPrefix(prompt));
        assertEquals(0, pool.freeBlocks());
        assertFalse(pool.newTable().reserve(1), "blocks referenced again by a prefix hit are no longer evictable");
        c.release();
        b.release();
        assertEquals(4, pool.freeBlocks());
    }

    @Test
    void evictedBlockIsNoLongerFound() {
        KvBlockPool pool = pool(2);
        int[] prompt = tokens(33, 1);
        computed(pool, Arrays.copyOf(prompt, 32)).release();
        assertEquals(32, pool.newTable().attachCachedPrefix(prompt));
        pool = pool(2);
        computed(pool, Arrays.copyOf(prompt, 32)).release();
        assertTrue(pool.newTable().reserve(32));
        assertEquals(0, pool.cachedBlocks());
        assertEquals(0, pool.newTable().attachCachedPrefix(prompt));
    }

    @Test
    void aPrefixHitMovesItsBlocksToTheRecentEndOfTheEvictionOrder() {
        KvBlockPool pool = pool(4);
        int[] x = tokens(17, 1);
        int[] y = tokens(17, 2);
        computed(pool, x).release();
        computed(pool, y).release();
        KvBlockTable hit = pool.newTable();
        assertEquals(16, hit.attachCachedPrefix(x));
        hit.release();
        // Two never-used blocks, then y's block, which is now less recently used than x's.
        assertTrue(pool.newTable().reserve(48));
        assertEquals(16, pool.newTable().attachCachedPrefix(x));
        assertEquals(0, pool.newTable().attachCachedPrefix(y));
    }

    @Test
    void duplicateOfACachedBlockStaysPrivateToItsTable() {
        KvBlockPool pool = pool(16);
        int[] prompt = tokens(40, 1);
        KvBlockTable a = computed(pool, prompt);
        KvBlockTable b = computed(pool, prompt);
        assertEquals(2, pool.cachedBlocks());
        assertFalse(pool.isCached(b.blockId(0)));
        assertFalse(pool.isCached(b.blockId(1)));
        b.release();
        assertEquals(2, pool.cachedBlocks());
        KvBlockTable c = pool.newTable();
        assertEquals(32, c.attachCachedPrefix(prompt));
        assertEquals(a.blockId(0), c.blockId(0));
    }

    @Test
    void chainContinuesAfterBlocksThatAnotherTableCachedFirst() {
        KvBlockPool pool = pool(16);
        int[] longer = tokens(60, 1);
        KvBlockTable a = computed(pool, Arrays.copyOf(longer, 32));
        KvBlockTable b = computed(pool, longer);
        assertFalse(pool.isCached(b.blockId(1)));
        assertTrue(pool.isCached(b.blockId(2)));
        KvBlockTable c = pool.newTable();
        assertEquals(48, c.attachCachedPrefix(longer));
        assertEquals(a.blockId(1), c.blockId(1));
        assertEquals(b.blockId(2), c.blockId(2));
    }

    @Test
    void hashCollisionWithDifferentTokensIsNotReused() {
        KvBlockPool pool = new KvBlockPool(CONFIG, BS, 16 * KvBlockPool.bytesPerBlock(CONFIG, BS), (p, t, f, n) -> 42L);
        int[] prompt = tokens(40, 1);
        computed(pool, prompt);
        assertEquals(0, pool.newTable().attachCachedPrefix(tokens(40, 2)));
        assertEquals(0, pool.prefixHits());
    }

    @Test
    void blockWithTheSameTokensAfterADifferentPrefixIsNotReused() {
        // Keys from the block's own tokens only, so equal blocks after different prefixes collide.
        KvBlockPool pool = new KvBlockPool(CONFIG, BS, 16 * KvBlockPool.bytesPerBlock(CONFIG, BS),
                (p, t, f, n) -> KvBlockPool.chainKey(KvBlockPool.ROOT_KEY, t, f, n));
        int[] repeated = new int[40];
        int[] block = tokens(16, 1);
        System.arraycopy(block, 0, repeated, 0, 16);
        System.arraycopy(block, 0, repeated, 16, 16);
        computed(pool, repeated);
        assertEquals(16, pool.newTable().attachCachedPrefix(repeated), "block 1 repeats block 0's tokens after a different prefix");
    }

    @Test
    void childOfAnEvictedAndRepublishedParentIsNotReused() {
        // Keys ignore each block's first token, so a block differing only there takes its key.
        KvBlockPool pool = new KvBlockPool(CONFIG, BS, 4 * KvBlockPool.bytesPerBlock(CONFIG, BS),
                (p, t, f, n) -> KvBlockPool.chainKey(p, t, f + 1, n - 1));
        int[] longer = tokens(33, 1);
        KvBlockTable a = computed(pool, Arrays.copyOf(longer, 16));
        KvBlockTable b = computed(pool, longer);
        assertTrue(pool.isCached(b.blockId(1)), "b's second block is published after a's first");
        int evicted = a.blockId(0);
        a.release();

        int[] other = longer.clone();
        other[0]++;
        KvBlockTable c = pool.newTable();
        assertTrue(c.reserve(16));
        assertEquals(evicted, c.blockId(0));
        c.publishFullBlocks(other, 16);
        assertTrue(pool.isCached(c.blockId(0)), "a's evicted block is republished with other tokens under the same key");
        assertEquals(16, pool.newTable().attachCachedPrefix(other));
    }
}
