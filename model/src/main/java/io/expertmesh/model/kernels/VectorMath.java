package io.expertmesh.model.kernels;

import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.weights.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels over fp32 activations and BF16/F16/F32 weights.
 *
 * <p>Every dot product is computed in one canonical order: one vector accumulator fed by fused
 * multiply-adds over the contraction in steps of {@link #LANES}, reduced by a fixed pairwise tree,
 * then the scalar tail. The streaming (in-register widening) and tiled paths follow that order, so a
 * row's result does not depend on how many other rows share the batch, nor on whether the JIT has
 * compiled the loop yet ({@code reduceLanes} leaves the order of floating-point additions open).
 */
public final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int LANES = F.length();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final IntVector HIGH_HALF = IntVector.broadcast(I, 0xFFFF0000);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    @SuppressWarnings("unchecked")
    private static final VectorShuffle<Float>[] FOLD = new VectorShuffle[LANES];

    static {
        for (int half = LANES / 2; half >= 1; half /= 2) FOLD[half] = VectorShuffle.iota(F, half, 1, true);
    }

    private VectorMath() {}

    /** Sum of the lanes by a fixed tree: lane i with lane i + half, halving each time. */
    static float sum(FloatVector v) {
        for (int half = LANES / 2; half >= 1; half /= 2) v = v.add(v.rearrange(FOLD[half]));
        return v.lane(0);
    }

    /** Canonical dot product of {@code a[aOff..aOff+n)} and {@code b[bOff..bOff+n)}. */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int bound = n - n % LANES;
        FloatVector acc = FloatVector.zero(F);
        for (int k = 0; k < bound; k += LANES) {
            acc = FloatVector.fromArray(F, a, aOff + k).fma(FloatVector.fromArray(F, b, bOff + k), acc);
        }
        float s = sum(acc);
        for (int k = bound; k < n; k++) s = Math.fma(a[aOff + k], b[bOff + k], s);
        return s;
    }

    /** {@code y[yOff..] += alpha * x[xOff..]} over n elements. */
    public static void axpy(float alpha, float[] x, int xOff, float[] y, int yOff, int n) {
        int bound = n - n % LANES;
        FloatVector a = FloatVector.broadcast(F, alpha);
        for (int k = 0; k < bound; k += LANES) {
            FloatVector.fromArray(F, x, xOff + k).fma(a, FloatVector.fromArray(F, y, yOff + k)).intoArray(y, yOff + k);
        }
        for (int k = bound; k < n; k++) y[yOff + k] = Math.fma(alpha, x[xOff + k], y[yOff + k]);
    }

    /**
     * The contraction order shared by every weight kernel. BF16 weights are loaded {@code 2·LANES} at a
     * time as ints and split into the even and the odd elements (a shift and a mask, no shuffles), so
     * in each block of {@code 2·LANES} the evens come first, then the odds. Activations are permuted the
     * same way once per product; elements past the last whole block keep their natural order.
     */
    public static void permute(float[] x, int xOff, int n, float[] dst, int dstOff) {
        int block = 2 * LANES;
        int bound = n - n % block;
        for (int b = 0; b < bound; b += block) {
            for (int i = 0; i < LANES; i++) {
                dst[dstOff + b + i] = x[xOff + b + 2 * i];
                dst[dstOff + b + LANES + i] = x[xOff + b + 2 * i + 1];
            }
        }
        System.arraycopy(x, xOff + bound, dst, dstOff + bound, n - bound);
    }

    /**
     * Streams BF16 weight rows [r0, r1) once from memory and dots each with one permuted activation
     * row: {@code out[outOff + r] = W[r] · x}. Four rows at a time keep four FMA chains busy.
     */
    static void bf16Rows(WeightMatrix w, int r0, int r1, float[] xp, int xOff, float[] out, int outOff) {
        MemorySegment seg = w.data();
        long rowBytes = w.rowBytes();
        int cols = w.cols();
        int block = 2 * LANES;
        int bound = cols - cols % block;
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
            long base = r * rowBytes;
            for (int k = 0; k < bound; k += block) {
                FloatVector even = FloatVector.fromArray(F, xp, xOff + k);
                FloatVector odd = FloatVector.fromArray(F, xp, xOff + k + LANES);
                long off = base + 2L * k;
                IntVector v0 = IntVector.fromMemorySegment(I, seg, off, LE);
                IntVector v1 = IntVector.fromMemorySegment(I, seg, off + rowBytes, LE);
                IntVector v2 = IntVector.fromMemorySegment(I, seg, off + 2 * rowBytes, LE);
                IntVector v3 = IntVector.fromMemorySegment(I, seg, off + 3 * rowBytes, LE);
                a0 = evens(v0).fma(even, a0);
                a0 = odds(v0).fma(odd, a0);
                a1 = evens(v1).fma(even, a1);
                a1 = odds(v1).fma(odd, a1);
                a2 = evens(v2).fma(even, a2);
                a2 = odds(v2).fma(odd, a2);
                a3 = evens(v3).fma(even, a3);
                a3 = odds(v3).fma(odd, a3);
            }
            out[outOff + r] = bf16Tail(w, r, sum(a0), bound, xp, xOff);
            out[outOff + r + 1] = bf16Tail(w, r + 1, sum(a1), bound, xp, xOff);
            out[outOff + r + 2] = bf16Tail(w, r + 2, sum(a2), bound, xp, xOff);
            out[outOff + r + 3] = bf16Tail(w, r + 3, sum(a3), bound, xp, xOff);
        }
        for (; r < r1; r++) {
            FloatVector a0 = FloatVector.zero(F);
            long base = r * rowBytes;
            for (int k = 0; k < bound; k += block) {
                IntVector v0 = IntVector.fromMemorySegment(I, seg, base + 2L * k, LE);
                a0 = evens(v0).fma(FloatVector.fromArray(F, xp, xOff + k), a0);
                a0 = odds(v0).fma(FloatVector.fromArray(F, xp, xOff + k + LANES), a0);
            }
            out[outOff + r] = bf16Tail(w, r, sum(a0), bound, xp, xOff);
        }
    }

    private static FloatVector evens(IntVector pairs) {
        return pairs.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    private static FloatVector odds(IntVector pairs) {
        return pairs.and(HIGH_HALF).reinterpretAsFloats();
    }

    private static float bf16Tail(WeightMatrix w, int r, float s, int from, float[] x, int xOff) {
        long base = r * w.rowBytes();
        for (int k = from; k < w.cols(); k++) {
            float wk = Float.intBitsToFloat((w.data().get(ValueLayout.JAVA_SHORT_UNALIGNED, base + 2L * k) & 0xFFFF) << 16);
            s = Math.fma(wk, x[xOff + k], s);
        }
        return s;
    }

    /**
     * Tiled product for many activation rows: {@code tile} holds weight rows [r0, r0+tileRows) already
     * widened to fp32 (row-major, {@code cols} each); every activation row t of {@code x} is dotted
     * with every tile row, four tile rows by four activation rows at a time.
     */
    static void tileRows(float[] tile, int tileRows, int cols, int r0, FloatMatrix x, FloatMatrix out) {
        float[] xd = x.data();
        float[] od = out.data();
        int n = x.rows();
        int oc = out.cols();
        int bound = cols - cols % LANES;
        int t = 0;
        for (; t + 4 <= n; t += 4) {
            int x0 = t * cols, x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
            int r = 0;
            for (; r + 4 <= tileRows; r += 4) {
                int w0 = r * cols, w1 = w0 + cols, w2 = w1 + cols, w3 = w2 + cols;
                FloatVector a00 = FloatVector.zero(F), a01 = a00, a02 = a00, a03 = a00;
                FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
                FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
                FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
                for (int k = 0; k < bound; k += LANES) {
                    FloatVector v0 = FloatVector.fromArray(F, tile, w0 + k);
                    FloatVector v1 = FloatVector.fromArray(F, tile, w1 + k);
                    FloatVector v2 = FloatVector.fromArray(F, tile, w2 + k);
                    FloatVector v3 = FloatVector.fromArray(F, tile, w3 + k);
                    FloatVector u = FloatVector.fromArray(F, xd, x0 + k);
                    a00 = v0.fma(u, a00); a10 = v1.fma(u, a10); a20 = v2.fma(u, a20); a30 = v3.fma(u, a30);
                    u = FloatVector.fromArray(F, xd, x1 + k);
                    a01 = v0.fma(u, a01); a11 = v1.fma(u, a11); a21 = v2.fma(u, a21); a31 = v3.fma(u, a31);
                    u = FloatVector.fromArray(F, xd, x2 + k);
                    a02 = v0.fma(u, a02); a12 = v1.fma(u, a12); a22 = v2.fma(u, a22); a32 = v3.fma(u, a32);
                    u = FloatVector.fromArray(F, xd, x3 + k);
                    a03 = v0.fma(u, a03); a13 = v1.fma(u, a13); a23 = v2.fma(u, a23); a33 = v3.fma(u, a33);
                }
                int o = r0 + r;
                od[t * oc + o] = tail(sum(a00), tile, w0, xd, x0, bound, cols);
                od[t * oc + o + 1] = tail(sum(a10), tile, w1, xd, x0, bound, cols);
                od[t * oc + o + 2] = tail(sum(a20), tile, w2, xd, x0, bound, cols);
                od[t * oc + o + 3] = tail(sum(a30), tile, w3, xd, x0, bound, cols);
                od[(t + 1) * oc + o] = tail(sum(a01), tile, w0, xd, x1, bound, cols);
                od[(t + 1) * oc + o + 1] = tail(sum(a11), tile, w1, xd, x1, bound, cols);
                od[(t + 1) * oc + o + 2] = tail(sum(a21), tile, w2, xd, x1, bound, cols);
                od[(t + 1) * oc + o + 3] = tail(sum(a31), tile, w3, xd, x1, bound, cols);
                od[(t + 2) * oc + o] = tail(sum(a02), tile, w0, xd, x2, bound, cols);
                od[(t + 2) * oc + o + 1] = tail(sum(a12), tile, w1, xd, x2, bound, cols);
                od[(t + 2) * oc + o + 2] = tail(sum(a22), tile, w2, xd, x2, bound, cols);
                od[(t + 2) * oc + o + 3] = tail(sum(a32), tile, w3, xd, x2, bound, cols);
                od[(t + 3) * oc + o] = tail(sum(a03), tile, w0, xd, x3, bound, cols);
                od[(t + 3) * oc + o + 1] = tail(sum(a13), tile, w1, xd, x3, bound, cols);
                od[(t + 3) * oc + o + 2] = tail(sum(a23), tile, w2, xd, x3, bound, cols);
                od[(t + 3) * oc + o + 3] = tail(sum(a33), tile, w3, xd, x3, bound, cols);
            }
            for (; r < tileRows; r++) {
                for (int tt = t; tt < t + 4; tt++) od[tt * oc + r0 + r] = dot(tile, r * cols, xd, tt * cols, cols);
            }
        }
        for (; t < n; t++) {
            for (int r = 0; r < tileRows; r++) od[t * oc + r0 + r] = dot(tile, r * cols, xd, t * cols, cols);
        }
    }

    private static float tail(float s, float[] w, int wOff, float[] x, int xOff, int from, int cols) {
        for (int k = from; k < cols; k++) s = Math.fma(w[wOff + k], x[xOff + k], s);
        return s;
    }

    /** Weight rows [r0, r0+rows) widened to fp32 into {@code tile}, each row in the permuted order. */
    static void widenRows(WeightMatrix w, int r0, int rows, float[] tile, float[] rowScratch) {
        int cols = w.cols();
        int block = 2 * LANES;
        int bound = cols - cols % block;
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            if (w.dtype() == DType.BF16) {
                long base = (r0 + r) * w.rowBytes();
                for (int k = 0; k < bound; k += block) {
                    IntVector v = IntVector.fromMemorySegment(I, w.data(), base + 2L * k, LE);
                    evens(v).intoArray(tile, o + k);
                    odds(v).intoArray(tile, o + k + LANES);
                }
                for (int k = bound; k < cols; k++) {
                    tile[o + k] = Float.intBitsToFloat((w.data().get(ValueLayout.JAVA_SHORT_UNALIGNED, base + 2L * k) & 0xFFFF) << 16);
                }
            } else {
                w.readRow(r0 + r, rowScratch, 0);
                permute(rowScratch, 0, cols, tile, o);
            }
        }
    }
}
