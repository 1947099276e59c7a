package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.CausalAttention;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.kernels.VectorMath;
import java.util.Arrays;
import java.util.List;

/**
 * Causal grouped-query attention over KV blocks. Query head n reads KV head n / group; scores are
 * scaled by head_dim^-0.5 and softmaxed in fp32; each query row sees the cached positions up to and
 * including its own.
 */
final class Attention {
    /** Query rows of one sequence in a step: rows [rowOffset, rowOffset + rows) at positions start.. */
    record Span(int rowOffset, int rows, KvCache cache, int start) {}

    private static final int ROWS_PER_TASK = 16;
    /** Query rows of a task from which its keys and values are gathered into runs. */
    private static final int GATHER_MIN_ROWS = 4;

    private Attention() {}

    /** Writes the rotated keys and values of each span's rows into its cache at their positions. */
    static void store(List<Span> spans, int layer, FloatMatrix k, FloatMatrix v) {
        int kvDim = k.cols();
        for (Span s : spans) {
            KvCache cache = s.cache();
            cache.ensureCapacity(s.start() + s.rows());
            int bs = cache.blockSize();
            for (int i = 0; i < s.rows(); i++) {
                int pos = s.start() + i;
                int off = (pos % bs) * kvDim;
                System.arraycopy(k.data(), (s.rowOffset() + i) * kvDim, cache.keyBlock(layer, pos / bs), off, kvDim);
                System.arraycopy(v.data(), (s.rowOffset() + i) * kvDim, cache.valueBlock(layer, pos / bs), off, kvDim);
            }
        }
    }

    /**
     * One task per sequence, KV head and run of up to {@link #ROWS_PER_TASK} query rows. From
     * {@link #GATHER_MIN_ROWS} rows on, the keys and values the rows see are gathered from the cache's
     * blocks into one run each and the query heads that read that KV head attend over them
     * ({@link KernelBackend#attention}); fewer rows (decode) read the blocks where they are, since a
     * copy would double the bytes a long context costs. Both give the same bits.
     */
    static void compute(KernelBackend backend, List<Span> spans, int layer, FloatMatrix q, int heads, int kvHeads,
                        int headDim, FloatMatrix out) {
        int[] firstTask = new int[spans.size() + 1];
        for (int i = 0; i < spans.size(); i++) {
            firstTask[i + 1] = firstTask[i] + kvHeads * ((spans.get(i).rows() + ROWS_PER_TASK - 1) / ROWS_PER_TASK);
        }
        int group = heads / kvHeads;
        float scale = (float) Math.pow(headDim, -0.5);
        backend.parallelFor(firstTask[spans.size()], task -> {
            int si = 0;
            while (firstTask[si + 1] <= task) si++;
            Span span = spans.get(si);
            int local = task - firstTask[si];
            int kvh = local % kvHeads;
            int r0 = (local / kvHeads) * ROWS_PER_TASK;
            int r1 = Math.min(span.rows(), r0 + ROWS_PER_TASK);
            int positions = span.start() + r1;
            if (r1 - r0 < GATHER_MIN_ROWS) {
                float[] scores = new float[positions];
                float[] lanes = new float[4 * VectorMath.LANES];
                for (int i = r0; i < r1; i++) {
                    for (int h = kvh * group; h < (kvh + 1) * group; h++) {
                        head(span, layer, q, span.rowOffset() + i, span.start() + i, h, kvh, kvHeads * headDim, headDim, scale, scores, lanes, out);
                    }
                }
                return;
            }
            Gathered kv = GATHERED.get().ensure(positions * headDim);
            gather(span.cache(), layer, kvh * headDim, kvHeads * headDim, headDim, positions, kv);
            int column = kvh * group * headDim;
            backend.attention(new CausalAttention(q.data(), (span.rowOffset() + r0) * q.cols() + column, q.cols(), r1 - r0, group, headDim,
                    span.start() + r0, kv.keys, kv.values, scale, out.data(), (span.rowOffset() + r0) * out.cols() + column, out.cols()));
        });
    }

    /** One query row and head over the cache's blocks: {@link VectorMath#causalAttention}'s operations in its order. */
    private static void head(Span span, int layer, FloatMatrix q, int row, int position, int h, int kvh, int kvDim,
                             int headDim, float scale, float[] scores, float[] lanes, FloatMatrix out) {
        KvCache cache = span.cache();
        int bs = cache.blockSize();
        float[] qd = q.data();
        int qOff = row * q.cols() + h * headDim;
        int kvOff = kvh * headDim;
        int n = position + 1;
        for (int b = 0; b * bs < n; b++) {
            float[] keys = cache.keyBlock(layer, b);
            int first = b * bs;
            int count = Math.min(bs, n - first);
            int p = 0;
            for (; p + 4 <= count; p += 4) {
                int o = p * kvDim + kvOff;
                VectorMath.dot4(qd, qOff, keys, o, keys, o + kvDim, keys, o + 2 * kvDim, keys, o + 3 * kvDim, headDim, lanes, scores, first + p);
            }
            for (; p < count; p++) scores[first + p] = VectorMath.dot(qd, qOff, keys, p * kvDim + kvOff, headDim);
        }
        VectorMath.softmax(scores, n, scale);
        int oOff = row * out.cols() + h * headDim;
        Arrays.fill(out.data(), oOff, oOff + headDim, 0f);
        for (int b = 0; b * bs < n; b++) {
            int first = b * bs;
            VectorMath.weightedRows(scores, first, cache.valueBlock(layer, b), kvOff, kvDim, Math.min(bs, n - first), headDim,
                    out.data(), oOff);
        }
    }

    /** A thread's runs of one KV head's keys and values. */
    private static final class Gathered {
        float[] keys = new float[0];
        float[] values = new float[0];

        Gathered ensure(int floats) {
            if (keys.length < floats) {
                keys = new float[floats];
                values = new float[floats];
            }
            return this;
        }
    }

    private static final ThreadLocal<Gathered> GATHERED = ThreadLocal.withInitial(Gathered::new);

    /** Positions [0, positions) of the KV head whose columns start at {@code column}, one after another. */
    private static void gather(KvCache cache, int layer, int column, int kvDim, int headDim, int positions, Gathered kv) {
        int bs = cache.blockSize();
        for (int p = 0; p < positions; p++) {
            int off = (p % bs) * kvDim + column;
            System.arraycopy(cache.keyBlock(layer, p / bs), off, kv.keys, p * headDim, headDim);
            System.arraycopy(cache.valueBlock(layer, p / bs), off, kv.values, p * headDim, headDim);
        }
    }
}
