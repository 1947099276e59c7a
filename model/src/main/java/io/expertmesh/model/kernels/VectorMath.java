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
 * <p>Every dot product is computed in one canonical order: a vector accumulator of {@link #LANES}
 * partial sums fed by fused multiply-adds over the contraction in the order of {@link #permute},
 * then {@link #fold}ed by a fixed pairwise tree, then the scalar tail. The streaming (decode) and
 * tiled (prefill) paths follow that order, so a row's result does not depend on how many other rows
 * share the batch, nor on whether the JIT has compiled the loop yet ({@code reduceLanes} leaves the
 * order of floating-point additions open).
 *
 * <p>Each micro-kernel is a small method that loads its accumulators from a float array and stores
 * them back, and calls no helper of its own on vectors: C2 keeps such methods entirely in
 * registers, while a vector that stays live across larger control flow, or is passed to a method
 * the inliner gives up on, gets boxed on the heap and the kernel runs many times slower.
 */
public final class VectorMath {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    public static final int LANES = F.length();
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    private static final IntVector HIGH_HALF = IntVector.broadcast(I, 0xFFFF0000);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** Elements per even/odd block: one int vector of bf16 pairs. */
    private static final int BLOCK = 2 * LANES;

    private VectorMath() {}

    /**
     * Sum of {@code lanes[off..off+LANES)} by a fixed tree (lane i with lane i + half, halving); may
     * clobber them. A decode step folds one accumulator per weight row (about 280,000 for
     * ERNIE-4.5-21B's slice), so the usual lane counts have the same tree written out in registers.
     */
    static float fold(float[] lanes, int off) {
        if (LANES == 16) {
            float s0 = lanes[off] + lanes[off + 8], s1 = lanes[off + 1] + lanes[off + 9];
            float s2 = lanes[off + 2] + lanes[off + 10], s3 = lanes[off + 3] + lanes[off + 11];
            float s4 = lanes[off + 4] + lanes[off + 12], s5 = lanes[off + 5] + lanes[off + 13];
            float s6 = lanes[off + 6] + lanes[off + 14], s7 = lanes[off + 7] + lanes[off + 15];
            float t0 = s0 + s4, t1 = s1 + s5, t2 = s2 + s6, t3 = s3 + s7;
            return (t0 + t2) + (t1 + t3);
        }
        if (LANES == 8) {
            float s0 = lanes[off] + lanes[off + 4], s1 = lanes[off + 1] + lanes[off + 5];
            float s2 = lanes[off + 2] + lanes[off + 6], s3 = lanes[off + 3] + lanes[off + 7];
            return (s0 + s2) + (s1 + s3);
        }
        for (int half = LANES / 2; half >= 1; half /= 2) {
            for (int i = 0; i < half; i++) lanes[off + i] += lanes[off + i + half];
        }
        return lanes[off];
    }

    /** Shuffles that bring lane i + h to lane i (wrapping), for the halvings of {@link #sum}. */
    private static final VectorShuffle<Float> DOWN_16 = VectorShuffle.iota(F, 16, 1, true), DOWN_8 = VectorShuffle.iota(F, 8, 1, true),
            DOWN_4 = VectorShuffle.iota(F, 4, 1, true), DOWN_2 = VectorShuffle.iota(F, 2, 1, true), DOWN_1 = VectorShuffle.iota(F, 1, 1, true);

    /**
     * Sum of {@code v}'s lanes by {@link #fold}'s tree, in registers. Unlike {@code reduceLanes}, whose
     * order of additions the API leaves open (the interpreter adds lane after lane, C2 by halves), the
     * result does not change when the JIT compiles the caller. Up to 32 lanes.
     */
    static float sum(FloatVector v) {
        if (LANES >= 32) v = v.add(v.rearrange(DOWN_16));
        if (LANES >= 16) v = v.add(v.rearrange(DOWN_8));
        if (LANES >= 8) v = v.add(v.rearrange(DOWN_4));
        if (LANES >= 4) v = v.add(v.rearrange(DOWN_2));
        return v.add(v.rearrange(DOWN_1)).lane(0);
    }

    /** Canonical dot product of {@code a[aOff..aOff+n)} and {@code b[bOff..bOff+n)} (no permutation). */
    public static float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        int bound = n - n % LANES;
        float[] lanes = new float[LANES];
        accumulate(a, aOff, b, bOff, bound, lanes);
        float s = fold(lanes, 0);
        for (int k = bound; k < n; k++) s = Math.fma(a[aOff + k], b[bOff + k], s);
        return s;
    }

    /**
     * Four canonical dot products of {@code q[qOff..qOff+n)} with rows of {@code k0..k3} at {@code o0..o3}
     * into {@code out[outOff..outOff+4)}; {@code lanes} is scratch of {@code 4·LANES} floats.
     */
    public static void dot4(float[] q, int qOff, float[] k0, int o0, float[] k1, int o1, float[] k2, int o2, float[] k3, int o3,
                            int n, float[] lanes, float[] out, int outOff) {
        int bound = n - n % LANES;
        accumulate4(q, qOff, k0, o0, k1, o1, k2, o2, k3, o3, bound, lanes);
        out[outOff] = tail(fold(lanes, 0), q, qOff, k0, o0, bound, n);
        out[outOff + 1] = tail(fold(lanes, LANES), q, qOff, k1, o1, bound, n);
        out[outOff + 2] = tail(fold(lanes, 2 * LANES), q, qOff, k2, o2, bound, n);
        out[outOff + 3] = tail(fold(lanes, 3 * LANES), q, qOff, k3, o3, bound, n);
    }

    private static void accumulate4(float[] q, int qOff, float[] k0, int o0, float[] k1, int o1, float[] k2, int o2, float[] k3,
                                    int o3, int bound, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < bound; k += LANES) {
            FloatVector u = FloatVector.fromArray(F, q, qOff + k);
            a0 = FloatVector.fromArray(F, k0, o0 + k).fma(u, a0);
            a1 = FloatVector.fromArray(F, k1, o1 + k).fma(u, a1);
            a2 = FloatVector.fromArray(F, k2, o2 + k).fma(u, a2);
            a3 = FloatVector.fromArray(F, k3, o3 + k).fma(u, a3);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, LANES);
        a2.intoArray(lanes, 2 * LANES);
        a3.intoArray(lanes, 3 * LANES);
    }

    private static void accumulate(float[] a, int aOff, float[] b, int bOff, int bound, float[] lanes) {
        FloatVector acc = FloatVector.zero(F);
        for (int k = 0; k < bound; k += LANES) {
            acc = FloatVector.fromArray(F, a, aOff + k).fma(FloatVector.fromArray(F, b, bOff + k), acc);
        }
        acc.intoArray(lanes, 0);
    }

    private static final float EXP_HI = 88.3762626647949f;
    private static final float EXP_LO = -87.3f;
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** Adding and subtracting 1.5·2^23 rounds a float of magnitude below 2^22 to the nearest integer. */
    private static final float ROUND = 12582912f;
    private static final float[] EXP_POLY = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f,
            1.6666665459e-1f, 5.0000001201e-1f};

    /**
     * {@code a[i] = e^a[i]} over [off, off+n), to about 2 ulp (Cephes' expf: x = k·ln2 + r, a degree-5
     * polynomial for e^r, then 2^k from the exponent bits), e^x = 0 below -87.3. Built only from exact
     * IEEE operations, so vector lanes, the scalar tail and interpreted code give identical bits,
     * unlike {@code lanewise(EXP)}, whose intrinsic and fallback differ in the last place.
     */
    public static void exp(float[] a, int off, int n) {
        int bound = n - n % LANES;
        for (int i = 0; i < bound; i += LANES) exp(FloatVector.fromArray(F, a, off + i)).intoArray(a, off + i);
        for (int i = bound; i < n; i++) a[off + i] = exp(a[off + i]);
    }

    static FloatVector exp(FloatVector x) {
        x = x.min(EXP_HI);
        var underflow = x.lt(EXP_LO);
        FloatVector k = x.mul(LOG2E).add(ROUND).sub(ROUND);
        FloatVector r = k.fma(FloatVector.broadcast(F, -LN2_HI), x);
        r = k.fma(FloatVector.broadcast(F, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(F, EXP_POLY[0]);
        for (int i = 1; i < EXP_POLY.length; i++) p = p.fma(r, FloatVector.broadcast(F, EXP_POLY[i]));
        FloatVector y = p.fma(r.mul(r), r.add(1f));
        IntVector scale = ((IntVector) k.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(scale.reinterpretAsFloats()).blend(0f, underflow);
    }

    /** Scalar {@link #exp(float[], int, int)}, the same operations lane by lane. */
    public static float exp(float x) {
        x = Math.min(x, EXP_HI);
        if (x < EXP_LO) return 0f;
        float k = (x * LOG2E + ROUND) - ROUND;
        float r = Math.fma(k, -LN2_HI, x);
        r = Math.fma(k, -LN2_LO, r);
        float p = EXP_POLY[0];
        for (int i = 1; i < EXP_POLY.length; i++) p = Math.fma(p, r, EXP_POLY[i]);
        float y = Math.fma(p, r * r, r + 1f);
        return y * Float.intBitsToFloat(((int) k + 127) << 23);
    }

    /** {@code gate[i] = silu(gate[i]) · up[i] = gate[i] / (1 + e^-gate[i]) · up[i]} over [from, to). */
    public static void swiglu(float[] gate, float[] up, int from, int to) {
        int bound = from + (to - from) - (to - from) % LANES;
        for (int i = from; i < bound; i += LANES) {
            FloatVector g = FloatVector.fromArray(F, gate, i);
            FloatVector e = exp(g.neg()).add(1f);
            g.div(e).mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
        }
        for (int i = bound; i < to; i++) gate[i] = gate[i] / (exp(-gate[i]) + 1f) * up[i];
    }

    /**
     * {@link CausalAttention} in Java: per query head and row, the scores by {@link #dot4} (four
     * positions at a time) and {@link #dot}, their {@link #softmax}, and the values weighted by
     * {@link #weightedRows}. {@code scores}: at least {@link CausalAttention#positions} floats;
     * {@code lanes}: {@code 4·LANES}.
     */
    static void causalAttention(CausalAttention a, float[] scores, float[] lanes) {
        int hd = a.headDim();
        float[] q = a.q(), keys = a.keys(), out = a.out();
        for (int i = 0; i < a.rows(); i++) {
            int n = a.firstPosition() + i + 1;
            for (int g = 0; g < a.heads(); g++) {
                int qOff = a.qOffset() + i * a.qStride() + g * hd;
                int p = 0;
                for (; p + 4 <= n; p += 4) {
                    dot4(q, qOff, keys, p * hd, keys, (p + 1) * hd, keys, (p + 2) * hd, keys, (p + 3) * hd, hd, lanes, scores, p);
                }
                for (; p < n; p++) scores[p] = dot(q, qOff, keys, p * hd, hd);
                softmax(scores, n, a.scale());
                int oOff = a.outOffset() + i * a.outStride() + g * hd;
                java.util.Arrays.fill(out, oOff, oOff + hd, 0f);
                weightedRows(scores, 0, a.values(), 0, hd, n, hd, out, oOff);
            }
        }
    }

    /**
     * {@code scores[0..n) ← softmax(scores · scale)}: the maximum subtracted, {@link #exp}, and the sum
     * taken a vector at a time (lane l adds positions ≡ l mod LANES in order, the lanes fold by
     * {@link #sum}'s tree, then the tail one by one), each score divided by it.
     */
    public static void softmax(float[] scores, int n, float scale) {
        int bound = n - n % LANES;
        FloatVector top = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        for (int j = 0; j < bound; j += LANES) {
            FloatVector v = FloatVector.fromArray(F, scores, j).mul(scale);
            v.intoArray(scores, j);
            top = top.max(v);
        }
        float max = top.reduceLanes(VectorOperators.MAX);
        for (int j = bound; j < n; j++) {
            scores[j] *= scale;
            max = Math.max(max, scores[j]);
        }
        FloatVector acc = FloatVector.zero(F);
        for (int j = 0; j < bound; j += LANES) {
            FloatVector e = exp(FloatVector.fromArray(F, scores, j).sub(max));
            e.intoArray(scores, j);
            acc = acc.add(e);
        }
        float sum = sum(acc);
        for (int j = bound; j < n; j++) sum += scores[j] = exp(scores[j] - max);
        for (int j = 0; j < n; j++) scores[j] /= sum;
    }

    /**
     * {@code out[outOff + d] += Σ_i weights[wOff + i] · rows[rowOff + i·stride + d]} for d in [0, n), the
     * rows taken in order with one fused multiply-add each, so the result equals {@code count} calls
     * of {@link #axpy}; the partial sums of four vectors stay in registers across the rows.
     */
    public static void weightedRows(float[] weights, int wOff, float[] rows, int rowOff, int stride, int count, int n,
                                    float[] out, int outOff) {
        int chunk = 4 * LANES;
        int d = 0;
        for (; d + chunk <= n; d += chunk) weightedRows4(weights, wOff, rows, rowOff + d, stride, count, out, outOff + d);
        for (; d + LANES <= n; d += LANES) weightedRows1(weights, wOff, rows, rowOff + d, stride, count, out, outOff + d);
        for (; d < n; d++) {
            float acc = out[outOff + d];
            for (int i = 0; i < count; i++) acc = Math.fma(weights[wOff + i], rows[rowOff + i * stride + d], acc);
            out[outOff + d] = acc;
        }
    }

    private static void weightedRows4(float[] weights, int wOff, float[] rows, int rowOff, int stride, int count, float[] out, int o) {
        FloatVector a0 = FloatVector.fromArray(F, out, o), a1 = FloatVector.fromArray(F, out, o + LANES);
        FloatVector a2 = FloatVector.fromArray(F, out, o + 2 * LANES), a3 = FloatVector.fromArray(F, out, o + 3 * LANES);
        for (int i = 0; i < count; i++) {
            FloatVector w = FloatVector.broadcast(F, weights[wOff + i]);
            int r = rowOff + i * stride;
            a0 = FloatVector.fromArray(F, rows, r).fma(w, a0);
            a1 = FloatVector.fromArray(F, rows, r + LANES).fma(w, a1);
            a2 = FloatVector.fromArray(F, rows, r + 2 * LANES).fma(w, a2);
            a3 = FloatVector.fromArray(F, rows, r + 3 * LANES).fma(w, a3);
        }
        a0.intoArray(out, o);
        a1.intoArray(out, o + LANES);
        a2.intoArray(out, o + 2 * LANES);
        a3.intoArray(out, o + 3 * LANES);
    }

    private static void weightedRows1(float[] weights, int wOff, float[] rows, int rowOff, int stride, int count, float[] out, int o) {
        FloatVector a0 = FloatVector.fromArray(F, out, o);
        for (int i = 0; i < count; i++) a0 = FloatVector.fromArray(F, rows, rowOff + i * stride).fma(FloatVector.broadcast(F, weights[wOff + i]), a0);
        a0.intoArray(out, o);
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
        int bound = n - n % BLOCK;
        for (int b = 0; b < bound; b += BLOCK) {
            for (int i = 0; i < LANES; i++) {
                dst[dstOff + b + i] = x[xOff + b + 2 * i];
                dst[dstOff + b + LANES + i] = x[xOff + b + 2 * i + 1];
            }
        }
        System.arraycopy(x, xOff + bound, dst, dstOff + bound, n - bound);
    }

    private static float bf16(MemorySegment seg, long byteOffset) {
        return Float.intBitsToFloat((seg.get(ValueLayout.JAVA_SHORT_UNALIGNED, byteOffset) & 0xFFFF) << 16);
    }

    /**
     * Streams BF16 weight rows [r0, r1) once from memory and dots each with one permuted activation
     * row: {@code out[outOff + r] = W[r] · x}. Eight rows at a time keep eight FMA chains busy and
     * spend few instructions per byte, which is what lets one core pull its share of the memory
     * bandwidth.
     */
    static void bf16Rows(WeightMatrix w, int r0, int r1, float[] xp, int xOff, float[] out, int outOff) {
        int cols = w.cols();
        int bound = cols - cols % BLOCK;
        float[] lanes = new float[8 * LANES];
        int r = r0;
        for (; r + 8 <= r1; r += 8) {
            bf16EightRows(w.data(), r * w.rowBytes(), w.rowBytes(), xp, xOff, bound, lanes);
            for (int j = 0; j < 8; j++) out[outOff + r + j] = bf16Tail(w, r + j, fold(lanes, j * LANES), bound, xp, xOff);
        }
        for (; r < r1; r++) {
            bf16OneRow(w.data(), r * w.rowBytes(), xp, xOff, bound, lanes);
            out[outOff + r] = bf16Tail(w, r, fold(lanes, 0), bound, xp, xOff);
        }
    }

    private static void bf16EightRows(MemorySegment seg, long base, long rowBytes, float[] xp, int xOff, int bound, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        long end = base + 2L * bound;
        int k = xOff;
        for (long off = base; off < end; off += 2 * BLOCK, k += BLOCK) {
            FloatVector even = FloatVector.fromArray(F, xp, k);
            FloatVector odd = FloatVector.fromArray(F, xp, k + LANES);
            IntVector v0 = IntVector.fromMemorySegment(I, seg, off, LE);
            IntVector v1 = IntVector.fromMemorySegment(I, seg, off + rowBytes, LE);
            IntVector v2 = IntVector.fromMemorySegment(I, seg, off + 2 * rowBytes, LE);
            IntVector v3 = IntVector.fromMemorySegment(I, seg, off + 3 * rowBytes, LE);
            a0 = v0.and(HIGH_HALF).reinterpretAsFloats().fma(odd, v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(even, a0));
            a1 = v1.and(HIGH_HALF).reinterpretAsFloats().fma(odd, v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(even, a1));
            a2 = v2.and(HIGH_HALF).reinterpretAsFloats().fma(odd, v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(even, a2));
            a3 = v3.and(HIGH_HALF).reinterpretAsFloats().fma(odd, v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(even, a3));
            v0 = IntVector.fromMemorySegment(I, seg, off + 4 * rowBytes, LE);
            v1 = IntVector.fromMemorySegment(I, seg, off + 5 * rowBytes, LE);
            v2 = IntVector.fromMemorySegment(I, seg, off + 6 * rowBytes, LE);
            v3 = IntVector.fromMemorySegment(I, seg, off + 7 * rowBytes, LE);
            a4 = v0.and(HIGH_HALF).reinterpretAsFloats().fma(odd, v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(even, a4));
            a5 = v1.and(HIGH_HALF).reinterpretAsFloats().fma(odd, v1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(even, a5));
            a6 = v2.and(HIGH_HALF).reinterpretAsFloats().fma(odd, v2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(even, a6));
            a7 = v3.and(HIGH_HALF).reinterpretAsFloats().fma(odd, v3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(even, a7));
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, LANES);
        a2.intoArray(lanes, 2 * LANES);
        a3.intoArray(lanes, 3 * LANES);
        a4.intoArray(lanes, 4 * LANES);
        a5.intoArray(lanes, 5 * LANES);
        a6.intoArray(lanes, 6 * LANES);
        a7.intoArray(lanes, 7 * LANES);
    }

    private static void bf16OneRow(MemorySegment seg, long base, float[] xp, int xOff, int bound, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F);
        for (int k = 0; k < bound; k += BLOCK) {
            IntVector v0 = IntVector.fromMemorySegment(I, seg, base + 2L * k, LE);
            a0 = v0.and(HIGH_HALF).reinterpretAsFloats().fma(FloatVector.fromArray(F, xp, xOff + k + LANES),
                    v0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().fma(FloatVector.fromArray(F, xp, xOff + k), a0));
        }
        a0.intoArray(lanes, 0);
    }

    private static float bf16Tail(WeightMatrix w, int r, float s, int from, float[] x, int xOff) {
        long base = r * w.rowBytes();
        for (int k = from; k < w.cols(); k++) s = Math.fma(bf16(w.data(), base + 2L * k), x[xOff + k], s);
        return s;
    }

    /** Contraction elements per pass over a tile: the activation rows of a pass, this many floats each, stay in L1. */
    private static final int K_CHUNK = 512;
    /**
     * Activation rows per pass over a tile: six where there are 32 vector registers (AVX-512), which
     * hold 4 × 6 accumulators, four weight vectors and an activation vector, and load the tile a third
     * less often than passes of four (prefill 1.11× on the Intel machine: docs/performance.md, "Two builds").
     */
    private static final int PASS_ROWS = LANES >= 16 ? 6 : 4;

    /** Floats of accumulator scratch {@link #tileRows} needs for a tile of {@code tileRows} rows. */
    static int accumulatorFloats(int tileRows) {
        return (tileRows + 3) / 4 * 4 * PASS_ROWS * LANES;
    }

    /**
     * Tiled product for many activation rows: {@code tile} holds weight rows [r0, r0+tileRows) already
     * widened to fp32 ({@link #widenRows}); every activation row of {@code xp} is dotted
     * with every tile row, four tile rows by {@link #PASS_ROWS} (then four) activation rows at a time.
     * The contraction is walked in chunks so that the pass's activation rows stay in L1 while the tile
     * streams from L2; between chunks the accumulators wait in {@code acc}, so each dot product keeps
     * the canonical order, whichever pass computes it.
     */
    static void tileRows(MemorySegment tile, int tileRows, int cols, int r0, FloatMatrix xp, FloatMatrix out, float[] acc) {
        float[] xd = xp.data();
        float[] od = out.data();
        int n = xp.rows();
        int oc = out.cols();
        int bound = cols - cols % BLOCK;
        int t = 0;
        for (; t + PASS_ROWS <= n; t += PASS_ROWS) pass(PASS_ROWS, tile, tileRows, cols, r0, xd, t, bound, od, oc, acc);
        for (; t + 4 <= n; t += 4) pass(4, tile, tileRows, cols, r0, xd, t, bound, od, oc, acc);
        for (; t < n; t++) {
            int r = 0;
            for (; r + 4 <= tileRows; r += 4) {
                fourByOne(tile, r * cols, cols, xd, t * cols, bound, acc);
                for (int j = 0; j < 4; j++) od[t * oc + r0 + r + j] = tileTail(fold(acc, j * LANES), tile, (r + j) * cols, xd, t * cols, bound, cols);
            }
            for (; r < tileRows; r++) {
                oneByOne(tile, r * cols, xd, t * cols, bound, acc);
                od[t * oc + r0 + r] = tileTail(fold(acc, 0), tile, r * cols, xd, t * cols, bound, cols);
            }
        }
    }

    /**
     * Activation rows [t, t+tokens) (4 or 6) times every tile row: four tile rows at a time, then the
     * rest one at a time. Tile row r's accumulator for token j is at {@code acc[(tokens·r + j)·LANES]}.
     */
    private static void pass(int tokens, MemorySegment tile, int tileRows, int cols, int r0, float[] xd, int t, int bound, float[] od, int oc, float[] acc) {
        int x0 = t * cols;
        int quads = tileRows / 4;
        java.util.Arrays.fill(acc, 0, tileRows * tokens * LANES, 0f);
        for (int kc = 0; kc < bound; kc += K_CHUNK) {
            int kEnd = Math.min(bound, kc + K_CHUNK);
            for (int q = 0; q < quads; q++) {
                int a = 4 * q * tokens * LANES;
                if (tokens == 6) fourBySix(tile, 4 * q * cols, cols, xd, x0, kc, kEnd, acc, a);
                else fourByFour(tile, 4 * q * cols, cols, xd, x0, kc, kEnd, acc, a);
            }
            for (int r = 4 * quads; r < tileRows; r++) {
                for (int j = 0; j < tokens; j += 2) twoTokens(tile, r * cols, cols, xd, x0 + j * cols, kc, kEnd, acc, (tokens * r + j) * LANES);
            }
        }
        for (int r = 0; r < tileRows; r++) {
            for (int j = 0; j < tokens; j++) {
                od[(t + j) * oc + r0 + r] = tileTail(fold(acc, (tokens * r + j) * LANES), tile, r * cols, xd, x0 + j * cols, bound, cols);
            }
        }
    }

    /**
     * acc[a + (4·row + token)·LANES] += tile rows w..w+3 times activation rows x..x+3 over [k0, k1).
     * Lane groups are laid out row-major: row j's four tokens occupy 4·LANES floats.
     */
    private static void fourByFour(MemorySegment tile, int w, int cols, float[] x, int x0, int k0, int k1, float[] acc, int a) {
        int w1 = w + cols, w2 = w1 + cols, w3 = w2 + cols;
        int x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols;
        FloatVector a00 = FloatVector.fromArray(F, acc, a), a01 = FloatVector.fromArray(F, acc, a + LANES);
        FloatVector a02 = FloatVector.fromArray(F, acc, a + 2 * LANES), a03 = FloatVector.fromArray(F, acc, a + 3 * LANES);
        FloatVector a10 = FloatVector.fromArray(F, acc, a + 4 * LANES), a11 = FloatVector.fromArray(F, acc, a + 5 * LANES);
        FloatVector a12 = FloatVector.fromArray(F, acc, a + 6 * LANES), a13 = FloatVector.fromArray(F, acc, a + 7 * LANES);
        FloatVector a20 = FloatVector.fromArray(F, acc, a + 8 * LANES), a21 = FloatVector.fromArray(F, acc, a + 9 * LANES);
        FloatVector a22 = FloatVector.fromArray(F, acc, a + 10 * LANES), a23 = FloatVector.fromArray(F, acc, a + 11 * LANES);
        FloatVector a30 = FloatVector.fromArray(F, acc, a + 12 * LANES), a31 = FloatVector.fromArray(F, acc, a + 13 * LANES);
        FloatVector a32 = FloatVector.fromArray(F, acc, a + 14 * LANES), a33 = FloatVector.fromArray(F, acc, a + 15 * LANES);
        // Written as the 4 × 4 block it is: one line per activation row (its products with the four
        // weight rows), and one line per weight row's accumulators at the end.
        for (int k = k0; k < k1; k += LANES) {
            FloatVector v0 = FloatVector.fromMemorySegment(F, tile, 4L * (w + k), NATIVE), v1 = FloatVector.fromMemorySegment(F, tile, 4L * (w1 + k), NATIVE);
            FloatVector v2 = FloatVector.fromMemorySegment(F, tile, 4L * (w2 + k), NATIVE), v3 = FloatVector.fromMemorySegment(F, tile, 4L * (w3 + k), NATIVE);
            FloatVector u = FloatVector.fromArray(F, x, x0 + k);
            a00 = v0.fma(u, a00); a10 = v1.fma(u, a10); a20 = v2.fma(u, a20); a30 = v3.fma(u, a30);
            u = FloatVector.fromArray(F, x, x1 + k);
            a01 = v0.fma(u, a01); a11 = v1.fma(u, a11); a21 = v2.fma(u, a21); a31 = v3.fma(u, a31);
            u = FloatVector.fromArray(F, x, x2 + k);
            a02 = v0.fma(u, a02); a12 = v1.fma(u, a12); a22 = v2.fma(u, a22); a32 = v3.fma(u, a32);
            u = FloatVector.fromArray(F, x, x3 + k);
            a03 = v0.fma(u, a03); a13 = v1.fma(u, a13); a23 = v2.fma(u, a23); a33 = v3.fma(u, a33);
        }
        a00.intoArray(acc, a); a01.intoArray(acc, a + LANES); a02.intoArray(acc, a + 2 * LANES); a03.intoArray(acc, a + 3 * LANES);
        a10.intoArray(acc, a + 4 * LANES); a11.intoArray(acc, a + 5 * LANES); a12.intoArray(acc, a + 6 * LANES); a13.intoArray(acc, a + 7 * LANES);
        a20.intoArray(acc, a + 8 * LANES); a21.intoArray(acc, a + 9 * LANES); a22.intoArray(acc, a + 10 * LANES); a23.intoArray(acc, a + 11 * LANES);
        a30.intoArray(acc, a + 12 * LANES); a31.intoArray(acc, a + 13 * LANES); a32.intoArray(acc, a + 14 * LANES); a33.intoArray(acc, a + 15 * LANES);
    }

    /**
     * acc[a + (6·row + token)·LANES] += tile rows w..w+3 times activation rows x..x+5 over [k0, k1):
     * {@link #fourByFour} with two more activation rows, 24 accumulators.
     */
    private static void fourBySix(MemorySegment tile, int w, int cols, float[] x, int x0, int k0, int k1, float[] acc, int a) {
        int w1 = w + cols, w2 = w1 + cols, w3 = w2 + cols;
        int x1 = x0 + cols, x2 = x1 + cols, x3 = x2 + cols, x4 = x3 + cols, x5 = x4 + cols;
        FloatVector a00 = FloatVector.fromArray(F, acc, a), a01 = FloatVector.fromArray(F, acc, a + LANES);
        FloatVector a02 = FloatVector.fromArray(F, acc, a + 2 * LANES), a03 = FloatVector.fromArray(F, acc, a + 3 * LANES);
        FloatVector a04 = FloatVector.fromArray(F, acc, a + 4 * LANES), a05 = FloatVector.fromArray(F, acc, a + 5 * LANES);
        FloatVector a10 = FloatVector.fromArray(F, acc, a + 6 * LANES), a11 = FloatVector.fromArray(F, acc, a + 7 * LANES);
        FloatVector a12 = FloatVector.fromArray(F, acc, a + 8 * LANES), a13 = FloatVector.fromArray(F, acc, a + 9 * LANES);
        FloatVector a14 = FloatVector.fromArray(F, acc, a + 10 * LANES), a15 = FloatVector.fromArray(F, acc, a + 11 * LANES);
        FloatVector a20 = FloatVector.fromArray(F, acc, a + 12 * LANES), a21 = FloatVector.fromArray(F, acc, a + 13 * LANES);
        FloatVector a22 = FloatVector.fromArray(F, acc, a + 14 * LANES), a23 = FloatVector.fromArray(F, acc, a + 15 * LANES);
        FloatVector a24 = FloatVector.fromArray(F, acc, a + 16 * LANES), a25 = FloatVector.fromArray(F, acc, a + 17 * LANES);
        FloatVector a30 = FloatVector.fromArray(F, acc, a + 18 * LANES), a31 = FloatVector.fromArray(F, acc, a + 19 * LANES);
        FloatVector a32 = FloatVector.fromArray(F, acc, a + 20 * LANES), a33 = FloatVector.fromArray(F, acc, a + 21 * LANES);
        FloatVector a34 = FloatVector.fromArray(F, acc, a + 22 * LANES), a35 = FloatVector.fromArray(F, acc, a + 23 * LANES);
        for (int k = k0; k < k1; k += LANES) {
            FloatVector v0 = FloatVector.fromMemorySegment(F, tile, 4L * (w + k), NATIVE), v1 = FloatVector.fromMemorySegment(F, tile, 4L * (w1 + k), NATIVE);
            FloatVector v2 = FloatVector.fromMemorySegment(F, tile, 4L * (w2 + k), NATIVE), v3 = FloatVector.fromMemorySegment(F, tile, 4L * (w3 + k), NATIVE);
            FloatVector u = FloatVector.fromArray(F, x, x0 + k);
            a00 = v0.fma(u, a00); a10 = v1.fma(u, a10); a20 = v2.fma(u, a20); a30 = v3.fma(u, a30);
            u = FloatVector.fromArray(F, x, x1 + k);
            a01 = v0.fma(u, a01); a11 = v1.fma(u, a11); a21 = v2.fma(u, a21); a31 = v3.fma(u, a31);
            u = FloatVector.fromArray(F, x, x2 + k);
            a02 = v0.fma(u, a02); a12 = v1.fma(u, a12); a22 = v2.fma(u, a22); a32 = v3.fma(u, a32);
            u = FloatVector.fromArray(F, x, x3 + k);
            a03 = v0.fma(u, a03); a13 = v1.fma(u, a13); a23 = v2.fma(u, a23); a33 = v3.fma(u, a33);
            u = FloatVector.fromArray(F, x, x4 + k);
            a04 = v0.fma(u, a04); a14 = v1.fma(u, a14); a24 = v2.fma(u, a24); a34 = v3.fma(u, a34);
            u = FloatVector.fromArray(F, x, x5 + k);
            a05 = v0.fma(u, a05); a15 = v1.fma(u, a15); a25 = v2.fma(u, a25); a35 = v3.fma(u, a35);
        }
        a00.intoArray(acc, a); a01.intoArray(acc, a + LANES); a02.intoArray(acc, a + 2 * LANES);
        a03.intoArray(acc, a + 3 * LANES); a04.intoArray(acc, a + 4 * LANES); a05.intoArray(acc, a + 5 * LANES);
        a10.intoArray(acc, a + 6 * LANES); a11.intoArray(acc, a + 7 * LANES); a12.intoArray(acc, a + 8 * LANES);
        a13.intoArray(acc, a + 9 * LANES); a14.intoArray(acc, a + 10 * LANES); a15.intoArray(acc, a + 11 * LANES);
        a20.intoArray(acc, a + 12 * LANES); a21.intoArray(acc, a + 13 * LANES); a22.intoArray(acc, a + 14 * LANES);
        a23.intoArray(acc, a + 15 * LANES); a24.intoArray(acc, a + 16 * LANES); a25.intoArray(acc, a + 17 * LANES);
        a30.intoArray(acc, a + 18 * LANES); a31.intoArray(acc, a + 19 * LANES); a32.intoArray(acc, a + 20 * LANES);
        a33.intoArray(acc, a + 21 * LANES); a34.intoArray(acc, a + 22 * LANES); a35.intoArray(acc, a + 23 * LANES);
    }

    /** acc[a + token·LANES] += tile row w times activation rows x and x+1 over [k0, k1). */
    private static void twoTokens(MemorySegment tile, int w, int cols, float[] x, int x0, int k0, int k1, float[] acc, int a) {
        FloatVector a0 = FloatVector.fromArray(F, acc, a), a1 = FloatVector.fromArray(F, acc, a + LANES);
        for (int k = k0; k < k1; k += LANES) {
            FloatVector v = FloatVector.fromMemorySegment(F, tile, 4L * (w + k), NATIVE);
            a0 = v.fma(FloatVector.fromArray(F, x, x0 + k), a0);
            a1 = v.fma(FloatVector.fromArray(F, x, x0 + cols + k), a1);
        }
        a0.intoArray(acc, a);
        a1.intoArray(acc, a + LANES);
    }

    /** acc[j·LANES] = tile rows w..w+3 times activation row x over the whole vector part [0, bound). */
    private static void fourByOne(MemorySegment tile, int w, int cols, float[] x, int x0, int bound, float[] acc) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int k = 0; k < bound; k += LANES) {
            FloatVector u = FloatVector.fromArray(F, x, x0 + k);
            a0 = FloatVector.fromMemorySegment(F, tile, 4L * (w + k), NATIVE).fma(u, a0);
            a1 = FloatVector.fromMemorySegment(F, tile, 4L * (w + cols + k), NATIVE).fma(u, a1);
            a2 = FloatVector.fromMemorySegment(F, tile, 4L * (w + 2 * cols + k), NATIVE).fma(u, a2);
            a3 = FloatVector.fromMemorySegment(F, tile, 4L * (w + 3 * cols + k), NATIVE).fma(u, a3);
        }
        a0.intoArray(acc, 0);
        a1.intoArray(acc, LANES);
        a2.intoArray(acc, 2 * LANES);
        a3.intoArray(acc, 3 * LANES);
    }

    /** acc[0..LANES) = tile row w times activation row x over the whole vector part [0, bound). */
    private static void oneByOne(MemorySegment tile, int w, float[] x, int x0, int bound, float[] acc) {
        FloatVector a = FloatVector.zero(F);
        for (int k = 0; k < bound; k += LANES) {
            a = FloatVector.fromMemorySegment(F, tile, 4L * (w + k), NATIVE).fma(FloatVector.fromArray(F, x, x0 + k), a);
        }
        a.intoArray(acc, 0);
    }

    private static float tileTail(float s, MemorySegment tile, int wOff, float[] x, int xOff, int from, int cols) {
        for (int k = from; k < cols; k++) s = Math.fma(tile.get(ValueLayout.JAVA_FLOAT, 4L * (wOff + k)), x[xOff + k], s);
        return s;
    }

    private static float tail(float s, float[] w, int wOff, float[] x, int xOff, int from, int cols) {
        for (int k = from; k < cols; k++) s = Math.fma(w[wOff + k], x[xOff + k], s);
        return s;
    }

    /**
     * Weight rows [r0, r0+rows) widened to fp32 into {@code tile} (native byte order), each row in the
     * permuted order; quantized rows are dequantized in their natural order, as {@link QuantizedMath}
     * reads them. {@code rowScratch} and {@code permuted}: {@code cols} floats each.
     */
    static void widenRows(WeightMatrix w, int r0, int rows, MemorySegment tile, float[] rowScratch, float[] permuted) {
        int cols = w.cols();
        int bound = cols - cols % BLOCK;
        for (int r = 0; r < rows; r++) {
            int o = r * cols;
            if (w.dtype().isQuantized() && QuantizedMath.STREAMS) {
                QuantizedMath.dequantizeRow(w, r0 + r, tile, o);
            } else if (w.dtype() == DType.BF16) {
                long base = (r0 + r) * w.rowBytes();
                widenBf16(w.data(), base, bound, tile, o);
                for (int k = bound; k < cols; k++) tile.set(ValueLayout.JAVA_FLOAT, 4L * (o + k), bf16(w.data(), base + 2L * k));
            } else {
                w.readRow(r0 + r, rowScratch, 0);
                float[] row = rowScratch;
                if (!w.dtype().isQuantized()) {
                    permute(rowScratch, 0, cols, permuted, 0);
                    row = permuted;
                }
                MemorySegment.copy(row, 0, tile, ValueLayout.JAVA_FLOAT, 4L * o, cols);
            }
        }
    }

    private static void widenBf16(MemorySegment seg, long base, int bound, MemorySegment tile, int o) {
        for (int k = 0; k < bound; k += BLOCK) {
            IntVector v = IntVector.fromMemorySegment(I, seg, base + 2L * k, LE);
            v.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoMemorySegment(tile, 4L * (o + k), NATIVE);
            v.and(HIGH_HALF).reinterpretAsFloats().intoMemorySegment(tile, 4L * (o + k + LANES), NATIVE);
        }
    }
}
