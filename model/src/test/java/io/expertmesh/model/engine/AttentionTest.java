package io.expertmesh.model.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.expertmesh.model.kernels.CpuBackend;
import io.expertmesh.model.kernels.CpuKernels;
import io.expertmesh.model.kernels.FloatMatrix;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** {@link Attention} over a paged cache: prefill chunks read gathered runs, decode steps the blocks where they are. */
class AttentionTest {
    private static final int HEADS = 4, KV_HEADS = 2, HEAD_DIM = 40, BLOCK = 16;

    /** One layer's keys and values on the heap, in blocks of {@link #BLOCK} positions. */
    private static final class Blocks implements KvCache {
        private final List<float[]> keys = new ArrayList<>(), values = new ArrayList<>();

        @Override
        public int blockSize() {
            return BLOCK;
        }

        @Override
        public void ensureCapacity(int tokens) {
            while (keys.size() * BLOCK < tokens) {
                keys.add(new float[BLOCK * KV_HEADS * HEAD_DIM]);
                values.add(new float[BLOCK * KV_HEADS * HEAD_DIM]);
            }
        }

        @Override
        public float[] keyBlock(int layer, int block) {
            return keys.get(block);
        }

        @Override
        public float[] valueBlock(int layer, int block) {
            return values.get(block);
        }

        @Override
        public int blockCount() {
            return keys.size();
        }

        @Override
        public int blockId(int block) {
            return block;
        }
    }

    private static FloatMatrix random(int rows, int cols, SplittableRandom random) {
        FloatMatrix m = FloatMatrix.zeros(rows, cols);
        for (int i = 0; i < m.data().length; i++) m.data()[i] = (float) random.nextGaussian();
        return m;
    }

    private static FloatMatrix row(FloatMatrix m, int r) {
        FloatMatrix one = FloatMatrix.zeros(1, m.cols());
        one.copyRowFrom(0, m, r);
        return one;
    }

    /**
     * 37 rows attended as one prefill chunk (tasks of 16, 16 and 5 rows over gathered keys and values)
     * and the same rows one decode step at a time (over the blocks): every output float is the same,
     * with the Java kernels and with the C ones.
     */
    @ParameterizedTest
    @EnumSource(CpuKernels.class)
    void aPrefillChunkAndDecodeStepsGiveTheSameBits(CpuKernels kernels) {
        assumeTrue(kernels == CpuKernels.JAVA || CpuKernels.nativeUnavailable() == null, "this machine cannot run the C kernels");
        int rows = 37;
        var random = new SplittableRandom(9);
        FloatMatrix q = random(rows, HEADS * HEAD_DIM, random), k = random(rows, KV_HEADS * HEAD_DIM, random), v = random(rows, KV_HEADS * HEAD_DIM, random);
        try (var backend = new CpuBackend(2, kernels)) {
            var chunk = new Blocks();
            List<Attention.Span> prefill = List.of(new Attention.Span(0, rows, chunk, 0));
            Attention.store(prefill, 0, k, v);
            FloatMatrix together = FloatMatrix.zeros(rows, HEADS * HEAD_DIM);
            Attention.compute(backend, prefill, 0, q, HEADS, KV_HEADS, HEAD_DIM, together);
            var steps = new Blocks();
            for (int i = 0; i < rows; i++) {
                List<Attention.Span> decode = List.of(new Attention.Span(0, 1, steps, i));
                Attention.store(decode, 0, row(k, i), row(v, i));
                FloatMatrix one = FloatMatrix.zeros(1, HEADS * HEAD_DIM);
                Attention.compute(backend, decode, 0, row(q, i), HEADS, KV_HEADS, HEAD_DIM, one);
                for (int c = 0; c < one.cols(); c++) {
                    assertEquals(Float.floatToRawIntBits(together.get(i, c)), Float.floatToRawIntBits(one.get(0, c)),
                            kernels + ": row " + i + ", column " + c + ": " + together.get(i, c) + " vs " + one.get(0, c));
                }
            }
        }
    }
}
