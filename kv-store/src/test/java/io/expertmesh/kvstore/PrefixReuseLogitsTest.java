package io.expertmesh.kvstore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.engine.ErnieModel;
import io.expertmesh.model.engine.ForwardTrace;
import io.expertmesh.model.engine.KvCache;
import io.expertmesh.model.engine.LoadedModel;
import io.expertmesh.model.engine.SequenceChunk;
import io.expertmesh.model.engine.SequenceKvCache;
import io.expertmesh.model.kernels.FloatMatrix;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The tiny model run through block tables: reused prefix blocks and pool blocks give bit-identical
 * logits to a sequence's own cache, since every kernel treats each row independently of the batch.
 */
class PrefixReuseLogitsTest {
    private static final int BS = 16;
    private static final int DECODE_STEPS = 6;

    private static LoadedModel loaded;
    private static ErnieModel model;

    @BeforeAll
    static void load() {
        loaded = LoadedModel.open(TinyModelDir.path(), 2);
        model = loaded.model();
    }

    @AfterAll
    static void close() {
        loaded.close();
    }

    private static KvBlockPool pool() {
        return new KvBlockPool(loaded.config(), BS, 64 * KvBlockPool.bytesPerBlock(loaded.config(), BS));
    }

    private static int[] prompt(int length, int seed) {
        int[] t = new int[length];
        for (int i = 0; i < length; i++) t[i] = (seed * 131 + i * 977 + 5) % 4096;
        return t;
    }

    /** Logits of the chunk's last token. */
    private static float[] lastLogits(KvCache cache, int start, int[] tokens) {
        FloatMatrix hidden = model.forward(List.of(new SequenceChunk(cache, start, tokens)), ForwardTrace.NONE);
        return model.logits(hidden, new int[] {hidden.rows() - 1}).row(0);
    }

    private static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
        return best;
    }

    /** Greedy steps after a prompt of {@code length} tokens whose last logits are given; reserves each position first. */
    private static float[][] decode(KvCache cache, int length, float[] logits) {
        float[][] steps = new float[DECODE_STEPS][];
        for (int i = 0; i < DECODE_STEPS; i++) {
            if (cache instanceof KvBlockTable t) assertTrue(t.reserve(length + i + 1));
            logits = lastLogits(cache, length + i, new int[] {argmax(logits)});
            steps[i] = logits;
        }
        return steps;
    }

    @Test
    void reusedPrefixGivesTheSameLogitsAsComputingTheWholePrompt() {
        KvBlockPool pool = pool();
        int[] first = prompt(40, 1);
        KvBlockTable a = pool.newTable();
        assertTrue(a.reserve(first.length));
        lastLogits(a, 0, first);
        a.publishFullBlocks(first, first.length);

        int[] second = Arrays.copyOf(prompt(36, 1), 45);
        for (int i = 36; i < second.length; i++) second[i] = (i * 53 + 11) % 4096;
        KvBlockTable b = pool.newTable();
        int covered = b.attachCachedPrefix(second);
        assertEquals(32, covered);
        assertTrue(b.reserve(second.length));
        float[] reused = lastLogits(b, covered, Arrays.copyOfRange(second, covered, second.length));

        SequenceKvCache own = new SequenceKvCache(loaded.config(), BS, 0);
        float[] scratch = lastLogits(own, 0, second);
        KvBlockTable fresh = pool.newTable();
        assertTrue(fresh.reserve(second.length));
        float[] freshLogits = lastLogits(fresh, 0, second);
        assertArrayEquals(scratch, reused, 0f);
        assertArrayEquals(scratch, freshLogits, 0f);

        float[][] reusedSteps = decode(b, second.length, reused);
        float[][] scratchSteps = decode(own, second.length, scratch);
        for (int i = 0; i < DECODE_STEPS; i++) assertArrayEquals(scratchSteps[i], reusedSteps[i], 0f, "decode step " + i);
    }

    @Test
    void wrongPrefixBlocksWouldChangeTheLogits() {
        // Guards the test above: the comparison is sensitive to which KV the prefix positions hold.
        KvBlockPool pool = pool();
        int[] first = prompt(40, 1);
        int[] other = prompt(40, 2);
        KvBlockTable a = pool.newTable();
        assertTrue(a.reserve(first.length));
        lastLogits(a, 0, first);
        KvBlockTable b = pool.newTable();
        assertTrue(b.reserve(other.length));
        lastLogits(b, 0, other);
        for (int l = 0; l < loaded.config().numLayers(); l++) {
            System.arraycopy(a.keyBlock(l, 0), 0, b.keyBlock(l, 0), 0, a.keyBlock(l, 0).length);
            System.arraycopy(a.valueBlock(l, 0), 0, b.valueBlock(l, 0), 0, a.valueBlock(l, 0).length);
        }
        float[] mixed = lastLogits(b, 39, new int[] {other[39]});
        float[] own = lastLogits(new SequenceKvCache(loaded.config(), BS, 0), 0, other);
        assertFalse(Arrays.equals(own, mixed));
    }

    @Test
    void decodeAcrossABlockBoundaryMatchesTheSequencesOwnCache() {
        int[] p = prompt(13, 3);
        KvBlockTable table = pool().newTable();
        assertTrue(table.reserve(p.length));
        float[] pooled = lastLogits(table, 0, p);
        SequenceKvCache own = new SequenceKvCache(loaded.config(), BS, 0);
        float[] scratch = lastLogits(own, 0, p);
        assertArrayEquals(scratch, pooled, 0f);

        float[][] pooledSteps = decode(table, p.length, pooled);
        float[][] scratchSteps = decode(own, p.length, scratch);
        assertEquals(2, table.blockCount(), "decoding 13 + " + DECODE_STEPS + " tokens crosses into a second block");
        for (int i = 0; i < DECODE_STEPS; i++) assertArrayEquals(scratchSteps[i], pooledSteps[i], 0f, "decode step " + i);
    }
}
