package io.expertmesh.kvstore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.config.ErnieConfig;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Random reserve / write / publish / attach / release over several tables sharing a small pool,
 * checking the accounting, the sharing rules and every written position after each operation.
 */
class KvBlockPoolStressTest {
    private static final ErnieConfig CONFIG = TinyModelDir.config();
    private static final int BS = 4;
    private static final int BLOCKS = 24;
    private static final int TABLES = 6;
    private static final int MAX_TOKENS = 48;
    private static final int OPERATIONS = 4000;

    /** One simulated sequence: its tokens, how many positions hold KV, and the table holding them. */
    private static final class Sequence {
        final KvBlockTable table;
        int[] tokens;
        int written;

        Sequence(KvBlockTable table) {
            this.table = table;
        }
    }

    private final Random random = new Random(20261127);
    private final int[][] stems = new int[3][];

    @Test
    void randomOperationsKeepAccountingSharingAndContentsConsistent() {
        for (int s = 0; s < stems.length; s++) stems[s] = randomTokens(MAX_TOKENS);
        KvBlockPool pool = new KvBlockPool(CONFIG, BS, BLOCKS * KvBlockPool.bytesPerBlock(CONFIG, BS));
        Sequence[] seqs = new Sequence[TABLES];
        for (int i = 0; i < TABLES; i++) seqs[i] = new Sequence(pool.newTable());
        long queried = 0;
        long covered = 0;
        int failedReserves = 0;

        for (int op = 0; op < OPERATIONS; op++) {
            Sequence s = seqs[random.nextInt(TABLES)];
            if (s.tokens == null) {
                s.tokens = newSequenceTokens();
                int c = s.table.attachCachedPrefix(s.tokens);
                assertEquals(0, c % BS);
                assertTrue(c < s.tokens.length);
                queried += s.tokens.length;
                covered += c;
                s.written = c;
            } else {
                switch (random.nextInt(10)) {
                    case 0, 1, 2, 3, 4 -> {
                        int target = Math.min(MAX_TOKENS, s.written + 1 + random.nextInt(2 * BS));
                        int before = s.table.blockCount();
                        int needed = s.table.blocksNeeded(target);
                        int free = pool.freeBlocks();
                        if (s.table.reserve(target)) {
                            assertEquals(before + needed, s.table.blockCount());
                            for (int p = s.written; p < target; p++) write(s, p);
                            s.written = target;
                        } else {
                            assertTrue(needed > free, "reserve failed although " + free + " blocks were free for " + needed);
                            assertEquals(before, s.table.blockCount());
                            assertEquals(free, pool.freeBlocks());
                            failedReserves++;
                        }
                    }
                    case 5, 6, 7 -> s.table.publishFullBlocks(s.tokens, s.written);
                    default -> {
                        s.table.release();
                        s.tokens = null;
                        s.written = 0;
                    }
                }
                if (s.written == MAX_TOKENS) {
                    s.table.release();
                    s.tokens = null;
                    s.written = 0;
                }
            }
            checkInvariants(pool, seqs, op);
        }
        assertEquals(queried, pool.prefixQueries());
        assertEquals(covered, pool.prefixHits());
        assertTrue(covered > 0, "the run should reuse cached prefixes");
        assertTrue(failedReserves > 0, "the run should exhaust the pool");
    }

    private int[] randomTokens(int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) t[i] = random.nextInt(4096);
        return t;
    }

    /** A stem's first tokens (often a whole number of blocks) followed by fresh ones. */
    private int[] newSequenceTokens() {
        int[] t = randomTokens(MAX_TOKENS);
        int shared = random.nextInt(MAX_TOKENS);
        System.arraycopy(stems[random.nextInt(stems.length)], 0, t, 0, shared);
        return t;
    }

    /** A value that depends on every token up to and including position p, per layer and for K versus V. */
    private static float expected(int[] tokens, int p, int layer, boolean key) {
        long h = 17;
        for (int i = 0; i <= p; i++) h = h * 1_000_003 + tokens[i];
        h = (h * 31 + layer) * 0x9E3779B97F4A7C15L;
        // 24 bits, so the float holds the code exactly.
        int code = (int) (h >>> 40);
        return key ? code : -code - 1;
    }

    private static void write(Sequence s, int p) {
        int row = (p % BS) * CONFIG.kvDim();
        for (int l = 0; l < CONFIG.numLayers(); l++) {
            s.table.keyBlock(l, p / BS)[row] = expected(s.tokens, p, l, true);
            s.table.valueBlock(l, p / BS)[row] = expected(s.tokens, p, l, false);
        }
    }

    private static void checkInvariants(KvBlockPool pool, Sequence[] seqs, int op) {
        String at = "after operation " + op;
        assertEquals(pool.totalBlocks(), pool.freeBlocks() + pool.usedBlocks(), at);
        assertTrue(pool.freeBlocks() >= 0, at);
        Map<Integer, Integer> holders = new HashMap<>();
        for (Sequence s : seqs) {
            Set<Integer> own = new HashSet<>();
            for (int b = 0; b < s.table.blockCount(); b++) {
                int id = s.table.blockId(b);
                assertTrue(own.add(id), at + ": block " + id + " twice in one table");
                holders.merge(id, 1, Integer::sum);
                if ((b + 1) * BS > s.written) {
                    assertFalse(pool.isCached(id), at + ": block " + id + " is still being written but is cached");
                }
            }
            for (int p = 0; p < s.written; p++) {
                int row = (p % BS) * CONFIG.kvDim();
                for (int l = 0; l < CONFIG.numLayers(); l++) {
                    assertEquals(expected(s.tokens, p, l, true), s.table.keyBlock(l, p / BS)[row], at + ": key at " + p);
                    assertEquals(expected(s.tokens, p, l, false), s.table.valueBlock(l, p / BS)[row], at + ": value at " + p);
                }
            }
        }
        assertEquals(holders.size(), pool.usedBlocks(), at);
        holders.forEach((id, n) -> {
            assertEquals(n, pool.refCount(id), at + ": references of block " + id);
            if (n > 1) assertTrue(pool.isCached(id), at + ": block " + id + " is shared by " + n + " tables but not a cached prefix block");
        });
    }
}
