package io.expertmesh.model.engine;

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

    static void compute(KernelBackend backend, List<Span> spans, int layer, FloatMatrix q, int heads, int kvHeads,
                        int headDim, FloatMatrix out) {
        int[] firstTask = new int[spans.size() + 1];
        for (int i = 0; i < spans.size(); i++) {
            firstTask[i + 1] = firstTask[i] + heads * ((spans.get(i).rows() + ROWS_PER_TASK - 1) / ROWS_PER_TASK);
        }
        int group = heads / kvHeads;
        float scale = (float) Math.pow(headDim, -0.5);
        backend.parallelFor(firstTask[spans.size()], task -> {
            int si = 0;
            while (firstTask[si + 1] <= task) si++;
            Span span = spans.get(si);
            int local = task - firstTask[si];
            int h = local % heads;
            int r0 = (local / heads) * ROWS_PER_TASK;
            int r1 = Math.min(span.rows(), r0 + ROWS_PER_TASK);
            float[] scores = new float[span.start() + span.rows()];
            float[] lanes = new float[4 * VectorMath.LANES];
            for (int i = r0; i < r1; i++) {
                head(span, layer, q, span.rowOffset() + i, span.start() + i, h, h / group, kvHeads * headDim, headDim, scale, scores, lanes, out);
            }
        });
    }

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
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            scores[j] *= scale;
            max = Math.max(max, scores[j]);
        }
        for (int j = 0; j < n; j++) scores[j] -= max;
        VectorMath.exp(scores, 0, n);
        float sum = 0;
        for (int j = 0; j < n; j++) sum += scores[j];
        for (int j = 0; j < n; j++) scores[j] /= sum;
        int oOff = row * out.cols() + h * headDim;
        Arrays.fill(out.data(), oOff, oOff + headDim, 0f);
        for (int b = 0; b * bs < n; b++) {
            int first = b * bs;
            VectorMath.weightedRows(scores, first, cache.valueBlock(layer, b), kvOff, kvDim, Math.min(bs, n - first), headDim,
                    out.data(), oOff);
        }
    }
}
