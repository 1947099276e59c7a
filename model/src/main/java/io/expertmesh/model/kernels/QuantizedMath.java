package io.expertmesh.model.kernels;

import static io.expertmesh.model.kernels.VectorMath.F;
import static io.expertmesh.model.kernels.VectorMath.LANES;
import static io.expertmesh.model.weights.QuantizedBlocks.Q4_K_DMIN;
import static io.expertmesh.model.weights.QuantizedBlocks.Q4_K_QS;
import static io.expertmesh.model.weights.QuantizedBlocks.Q4_K_SCALES;
import static io.expertmesh.model.weights.QuantizedBlocks.Q6_K_D;
import static io.expertmesh.model.weights.QuantizedBlocks.Q6_K_QH;
import static io.expertmesh.model.weights.QuantizedBlocks.Q6_K_SCALES;

import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.weights.QuantizedBlocks;
import io.expertmesh.model.weights.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels for GGML block-quantized weights (Q8_0, Q4_0, Q4_K, Q6_K) and fp32
 * activations: the decode products, and the dequantization of prefill tiles.
 *
 * <p>Quantized weights are dotted with the activations in their natural order, not the permuted
 * order of {@link VectorMath#permute}: every one of these layouts stores its quants in runs of 16
 * or 32 consecutive weights, so loading {@code LANES} quant bytes and widening them gives
 * {@code LANES} consecutive weights with no shuffle.
 *
 * <p>Decode streams one weight row at a time, front to back: one sequential stream per thread is
 * what the hardware prefetchers follow best (four interleaved rows read a third slower from memory
 * on the machines we measured). Nibbles are picked in 32-bit lanes, where shifts and masks are
 * single instructions, and each block's scale is applied once to the block's partial sum where the
 * layout allows, so a product is the fp32 product of the dequantized row up to the rounding of
 * fp32 sums in another order, not bit for bit. A row's lanes are summed by {@link VectorMath#sum}'s
 * fixed tree, so the product does not change when the JIT compiles the kernel. The prefill path
 * dequantizes tile rows exactly as {@link QuantizedBlocks} does ({@link #dequantizeRow}).
 */
final class QuantizedMath {
    /** Whether a byte vector of {@code LANES} lanes exists, i.e. the float vector has 8 lanes or more. */
    static final boolean STREAMS = LANES >= 8 && 32 % LANES == 0;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * Math.max(8, LANES)));
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** {@code LANES} packed quant bytes viewed as 32-bit lanes: Q6_K assembles its 6-bit quants four to a lane. */
    private static final VectorSpecies<Integer> IB = VectorSpecies.of(int.class, B.vectorShape());
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private QuantizedMath() {}

    /**
     * {@code out[t][r] = W[r] · x[t]} for weight rows [r0, r1) and every activation row t of
     * {@code x} (natural order). Each weight row is streamed once, front to back, and dotted with
     * every activation row while its bytes are in L1.
     */
    static void rows(WeightMatrix w, int r0, int r1, FloatMatrix x, FloatMatrix out) {
        MemorySegment seg = w.data();
        long rowBytes = w.rowBytes();
        int blocks = w.cols() / w.dtype().blockElements();
        float[] xd = x.data();
        float[] od = out.data();
        float[] sums = w.dtype() == DType.Q4_K ? superBlockSums(x) : null;
        float[] scales = new float[w.dtype() == DType.Q4_K ? 16 * blocks : 16];
        for (int r = r0; r < r1; r++) {
            long base = r * rowBytes;
            for (int t = 0; t < x.rows(); t++) {
                int xOff = t * x.cols();
                od[t * out.cols() + r] = switch (w.dtype()) {
                    case Q8_0 -> q8_0Dot(seg, base, blocks, xd, xOff);
                    case Q4_0 -> q4_0Dot(seg, base, blocks, xd, xOff);
                    case Q4_K -> LANES == 16 ? q4_KDotVectorScales(seg, base, blocks, xd, xOff, sums, t * (x.cols() / 16), scales)
                            : q4_KDotScalarScales(seg, base, blocks, xd, xOff, sums, t * (x.cols() / 16));
                    case Q6_K -> q6_KDot(seg, base, blocks, xd, xOff, scales);
                    default -> throw new IllegalArgumentException(w.name() + ": " + w.dtype() + " is not block-quantized");
                };
            }
        }
    }

    /**
     * The Q4_K product subtracts min · sum once per sub-block: for each activation row and run of 256
     * (a super-block), sixteen floats, eight zeros and then the row's sums over the eight runs of 32,
     * laid out like the sixteen scales and minima {@link #q4_KDotVectorScales} unpacks.
     */
    static float[] superBlockSums(FloatMatrix x) {
        int perRow = x.cols() / 16;
        float[] sums = new float[x.rows() * perRow];
        float[] xd = x.data();
        for (int t = 0; t < x.rows(); t++) {
            for (int g = 0; g < x.cols() / 32; g++) {
                FloatVector v = FloatVector.zero(F);
                for (int k = 0; k < 32; k += LANES) v = v.add(FloatVector.fromArray(F, xd, t * x.cols() + 32 * g + k));
                sums[t * perRow + 16 * (g / 8) + 8 + g % 8] = VectorMath.sum(v);
            }
        }
        return sums;
    }

    /**
     * Weight row {@code r} dequantized into the floats [off, off+cols) of {@code out} (native byte
     * order, natural order of the weights): the values of {@link WeightMatrix#readRow}, bit for bit,
     * computed a vector at a time with the fp32 operations of {@link QuantizedBlocks} (the prefill
     * path fills its tiles with it). Needs {@link #STREAMS}.
     */
    static void dequantizeRow(WeightMatrix w, int r, MemorySegment out, int off) {
        MemorySegment seg = w.data();
        long base = r * w.rowBytes();
        int blocks = w.cols() / w.dtype().blockElements();
        switch (w.dtype()) {
            case Q8_0 -> q8_0Row(seg, base, blocks, out, off);
            case Q4_0 -> q4_0Row(seg, base, blocks, out, off);
            case Q4_K -> q4_KRow(seg, base, blocks, out, off);
            case Q6_K -> q6_KRow(seg, base, blocks, out, off);
            default -> throw new IllegalArgumentException(w.name() + ": " + w.dtype() + " is not block-quantized");
        }
    }

    private static void q8_0Row(MemorySegment seg, long base, int blocks, MemorySegment out, int off) {
        for (int b = 0; b < blocks; b++) {
            long o = base + 34L * b;
            float d = Float.float16ToFloat(seg.get(HALF, o));
            for (int p = 0; p < 32; p += LANES) {
                ((FloatVector) ByteVector.fromMemorySegment(B, seg, o + 2 + p, LE).convertShape(VectorOperators.B2F, F, 0)).mul(d)
                        .intoMemorySegment(out, 4L * (off + 32 * b + p), NATIVE);
            }
        }
    }

    private static void q4_0Row(MemorySegment seg, long base, int blocks, MemorySegment out, int off) {
        for (int b = 0; b < blocks; b++) {
            long o = base + 18L * b;
            float d = Float.float16ToFloat(seg.get(HALF, o));
            for (int half = 0; half < 2; half++) {
                for (int p = 0; p < 16; p += LANES) {
                    ((FloatVector) ByteVector.fromMemorySegment(B, seg, o + 2 + p, LE).lanewise(VectorOperators.LSHR, 4 * half)
                            .and((byte) 0xF).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(d)
                            .intoMemorySegment(out, 4L * (off + 32 * b + 16 * half + p), NATIVE);
                }
            }
        }
    }

    /**
     * Sub-blocks j and j+1 share 32 quant bytes (low and high nibbles), so each byte is loaded and
     * widened once for both; the 16 scales and minima come from three words per super-block
     * ({@link #q4KScales}, {@link #q4KMinima}). {@code scale · q} is exact (an fp16 times a 6-bit times a 4-bit
     * integer), so the fma gives {@link QuantizedBlocks}'s values bit for bit.
     */
    private static void q4_KRow(MemorySegment seg, long base, int blocks, MemorySegment out, int off) {
        for (int b = 0; b < blocks; b++) {
            long o = base + 144L * b;
            float d = Float.float16ToFloat(seg.get(HALF, o));
            float dmin = Float.float16ToFloat(seg.get(HALF, o + Q4_K_DMIN));
            long low = seg.get(LONG, o + Q4_K_SCALES);
            int high = seg.get(INT, o + Q4_K_SCALES + 8);
            int first = (int) low, second = (int) (low >>> 32);
            for (int half = 0; half < 2; half++) {
                int scales = q4KScales(first, high, half), minima = q4KMinima(second, high, half);
                for (int pair = 0; pair < 2; pair++) {
                    int j = 4 * half + 2 * pair;
                    int shift = 16 * pair;
                    float loScale = d * (scales >>> shift & 0xFF), loMin = -(dmin * (minima >>> shift & 0xFF));
                    float hiScale = d * (scales >>> shift + 8 & 0xFF), hiMin = -(dmin * (minima >>> shift + 8 & 0xFF));
                    for (int p = 0; p < 32; p += LANES) {
                        IntVector q = unsignedBytes(seg, o + Q4_K_QS + 16L * j + p);
                        int at = off + 256 * b + 32 * j + p;
                        floats(q.and(0xF)).fma(loScale, loMin).intoMemorySegment(out, 4L * at, NATIVE);
                        floats(q.lanewise(VectorOperators.LSHR, 4)).fma(hiScale, hiMin).intoMemorySegment(out, 4L * (at + 32), NATIVE);
                    }
                }
            }
        }
    }

    private static void q6_KRow(MemorySegment seg, long base, int blocks, MemorySegment out, int off) {
        for (int b = 0; b < blocks; b++) {
            long o = base + 210L * b;
            float d = QuantizedBlocks.half(seg, o + Q6_K_D);
            for (int h = 0; h < 2; h++) {
                for (int part = 0; part < 4; part++) {
                    long ql = o + 64L * h + 32 * (part % 2);
                    long qh = o + Q6_K_QH + 32L * h;
                    for (int p = 0; p < 32; p += LANES) {
                        int e = 128 * h + 32 * part + p;
                        float scale = d * seg.get(ValueLayout.JAVA_BYTE, o + Q6_K_SCALES + e / 16);
                        ((FloatVector) ByteVector.fromMemorySegment(B, seg, ql + p, LE).lanewise(VectorOperators.LSHR, 4 * (part / 2))
                                .and((byte) 0xF).or(ByteVector.fromMemorySegment(B, seg, qh + p, LE)
                                        .lanewise(VectorOperators.LSHR, 2 * part).and((byte) 3).lanewise(VectorOperators.LSHL, 4))
                                .sub((byte) 32).convertShape(VectorOperators.B2F, F, 0)).mul(scale)
                                .intoMemorySegment(out, 4L * (off + 256 * b + e), NATIVE);
                    }
                }
            }
        }
    }

    /** Q8_0: w = q · d; a block's 32 quants are 32 consecutive weights. Two accumulators hide the FMA latency. */
    private static float q8_0Dot(MemorySegment seg, long o, int blocks, float[] x, int xOff) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int b = 0; b < blocks; b++, o += 34) {
            float d = Float.float16ToFloat(seg.get(HALF, o));
            for (int k = 0; k < 32; k += 2 * LANES) {
                int xo = xOff + 32 * b + k;
                a0 = quants(seg, o + 2 + k).mul(d).fma(FloatVector.fromArray(F, x, xo), a0);
                a1 = quants(seg, o + 2 + k + LANES).mul(d).fma(FloatVector.fromArray(F, x, xo + LANES), a1);
            }
        }
        return VectorMath.sum(a0.add(a1));
    }

    /** Q4_0: w = d · (nibble - 8); the 16 low nibbles are weights 0..15 and the high ones 16..31. */
    private static float q4_0Dot(MemorySegment seg, long o, int blocks, float[] x, int xOff) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int b = 0; b < blocks; b++, o += 18) {
            float d = Float.float16ToFloat(seg.get(HALF, o));
            FloatVector t = FloatVector.zero(F);
            for (int k = 0; k < 16; k += LANES) {
                IntVector q = unsignedBytes(seg, o + 2 + k);
                int xo = xOff + 32 * b + k;
                t = floats(q.and(0xF).sub(8)).fma(FloatVector.fromArray(F, x, xo), t);
                t = floats(q.lanewise(VectorOperators.LSHR, 4).sub(8)).fma(FloatVector.fromArray(F, x, xo + 16), t);
            }
            if ((b & 1) == 0) a0 = t.fma(FloatVector.broadcast(F, d), a0);
            else a1 = t.fma(FloatVector.broadcast(F, d), a1);
        }
        return VectorMath.sum(a0.add(a1));
    }

    /** Q4_K's scales and minima of a super-block unpacked as one 16-lane vector: for CPUs with 512-bit vectors ({@link #q4_KDotVectorScales}). */
    private static final class Q4KScaleLanes {
        static final VectorSpecies<Integer> INTS = IntVector.SPECIES_512;
        static final VectorSpecies<Float> FLOATS = FloatVector.SPECIES_512;
        /** Lane j < 8 becomes sub-block j's scale, lane 8 + j its minimum: these of the 12 scale bytes give the lanes their low bits... */
        static final VectorShuffle<Integer> LOW_BITS = VectorShuffle.fromValues(INTS, 0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11);
        static final IntVector LOW_SHIFT = IntVector.fromArray(INTS, new int[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4}, 0);
        static final IntVector LOW_MASK = IntVector.fromArray(INTS, new int[] {63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15}, 0);
        /** ...and sub-blocks 4-7 take their two top bits from the top of these bytes. */
        static final VectorShuffle<Integer> TOP_BITS = VectorShuffle.fromValues(INTS, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 4, 5, 6, 7);
        static final IntVector TOP_MASK = IntVector.fromArray(INTS, new int[] {0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30, 0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30}, 0);
        static final VectorMask<Float> MINIMA = VectorMask.fromLong(FLOATS, 0xFF00L);
        private static final VectorShuffle<Float> DOWN_8 = VectorShuffle.iota(FLOATS, 8, 1, true), DOWN_4 = VectorShuffle.iota(FLOATS, 4, 1, true),
                DOWN_2 = VectorShuffle.iota(FLOATS, 2, 1, true), DOWN_1 = VectorShuffle.iota(FLOATS, 1, 1, true);

        /** {@link VectorMath#sum} of these 16 lanes, whatever the preferred species (the tests run this kernel with 8-lane vectors too). */
        static float sum(FloatVector v) {
            v = v.add(v.rearrange(DOWN_8));
            v = v.add(v.rearrange(DOWN_4));
            v = v.add(v.rearrange(DOWN_2));
            return v.add(v.rearrange(DOWN_1)).lane(0);
        }
    }

    /**
     * Q4_K: w = (d·scale) · nibble - dmin·min per sub-block of 32, computed as
     * Σ (d·scale)·(Σ nibble·x) - Σ (dmin·min)·(Σ x): scale and minimum leave the inner loop. With
     * 16 lanes, a super-block's eight 6-bit scales and eight minima (llama.cpp's get_scale_min_k4)
     * are unpacked and scaled by d and dmin as one vector, and the minima meet the activation sums
     * ({@link #superBlockSums}) in one FMA: done a value at a time, that scalar work took a large
     * share of the kernel's time. {@code scales}: scratch of 8 floats per super-block and 8 more.
     */
    static float q4_KDotVectorScales(MemorySegment seg, long o, int blocks, float[] x, int xOff, float[] sums, int sOff, float[] scales) {
        FloatVector mins = FloatVector.zero(Q4KScaleLanes.FLOATS);
        for (int b = 0; b < blocks; b++) {
            long sb = o + 144L * b;
            float d = Float.float16ToFloat(seg.get(HALF, sb));
            float dmin = Float.float16ToFloat(seg.get(HALF, sb + Q4_K_DMIN));
            IntVector packed = (IntVector) ByteVector.fromMemorySegment(ByteVector.SPECIES_128, seg, sb + Q4_K_SCALES, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, Q4KScaleLanes.INTS, 0);
            IntVector unpacked = packed.rearrange(Q4KScaleLanes.LOW_BITS).lanewise(VectorOperators.LSHR, Q4KScaleLanes.LOW_SHIFT)
                    .and(Q4KScaleLanes.LOW_MASK).or(packed.rearrange(Q4KScaleLanes.TOP_BITS).lanewise(VectorOperators.LSHR, 6)
                            .lanewise(VectorOperators.LSHL, 4).and(Q4KScaleLanes.TOP_MASK));
            FloatVector scaled = floats(unpacked).mul(FloatVector.broadcast(Q4KScaleLanes.FLOATS, d).blend(dmin, Q4KScaleLanes.MINIMA));
            mins = scaled.fma(FloatVector.fromArray(Q4KScaleLanes.FLOATS, sums, sOff + 16 * b), mins);
            // The next super-block's scales overwrite these minima (already added up), so pair i's two scales are scales[2i] and scales[2i+1].
            scaled.intoArray(scales, 8 * b);
        }
        // Then one loop over the row's pairs of sub-blocks (two per 32 quant bytes, four per
        // super-block), not a loop of four inside the loop over super-blocks: C2 rebuilt that inner
        // loop's range checks on every super-block. (Two pairs per iteration outgrow C2's inlining
        // node limit: the vectors are boxed and the kernel runs 4x slower.)
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int i = 0; i < 4 * blocks; i++) {
            long q = o + 144L * (i >> 2) + Q4_K_QS + 32 * (i & 3);
            FloatVector lo = FloatVector.zero(F), hi = lo;
            for (int k = 0; k < 32; k += LANES) {
                IntVector v = unsignedBytes(seg, q + k);
                int xo = xOff + 64 * i + k;
                lo = floats(v.and(0xF)).fma(FloatVector.fromArray(F, x, xo), lo);
                hi = floats(v.lanewise(VectorOperators.LSHR, 4)).fma(FloatVector.fromArray(F, x, xo + 32), hi);
            }
            a0 = lo.fma(FloatVector.broadcast(F, scales[2 * i]), a0);
            a1 = hi.fma(FloatVector.broadcast(F, scales[2 * i + 1]), a1);
        }
        return VectorMath.sum(a0.add(a1)) - Q4KScaleLanes.sum(mins);
    }

    /**
     * {@link #q4_KDotVectorScales} for CPUs with fewer lanes: the 6-bit scales and minima are unpacked
     * four at a time from two loads per super-block (llama.cpp's get_scale_min_k4 on 32-bit words).
     */
    static float q4_KDotScalarScales(MemorySegment seg, long o, int blocks, float[] x, int xOff, float[] sums, int sOff) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        float mins = 0;
        for (int b = 0; b < blocks; b++, o += 144) {
            float d = Float.float16ToFloat(seg.get(HALF, o));
            float dmin = Float.float16ToFloat(seg.get(HALF, o + Q4_K_DMIN));
            long low = seg.get(LONG, o + Q4_K_SCALES);
            int high = seg.get(INT, o + Q4_K_SCALES + 8);
            int first = (int) low, second = (int) (low >>> 32);
            int s = sOff + 16 * b + 8;
            for (int half = 0; half < 2; half++) {
                int scales = q4KScales(first, high, half), minima = q4KMinima(second, high, half);
                for (int pair = 0; pair < 2; pair++) {
                    int j = 4 * half + 2 * pair;
                    int shift = 16 * pair;
                    FloatVector lo = FloatVector.zero(F), hi = lo;
                    for (int k = 0; k < 32; k += LANES) {
                        IntVector q = unsignedBytes(seg, o + Q4_K_QS + 16L * j + k);
                        int xo = xOff + 256 * b + 32 * j + k;
                        lo = floats(q.and(0xF)).fma(FloatVector.fromArray(F, x, xo), lo);
                        hi = floats(q.lanewise(VectorOperators.LSHR, 4)).fma(FloatVector.fromArray(F, x, xo + 32), hi);
                    }
                    a0 = lo.fma(FloatVector.broadcast(F, d * (scales >>> shift & 0xFF)), a0);
                    a1 = hi.fma(FloatVector.broadcast(F, d * (scales >>> shift + 8 & 0xFF)), a1);
                    mins += dmin * (minima >>> shift & 0xFF) * sums[s + j] + dmin * (minima >>> shift + 8 & 0xFF) * sums[s + j + 1];
                }
            }
        }
        return VectorMath.sum(a0.add(a1)) - mins;
    }

    /**
     * Q6_K: w = (d·scale) · (6-bit quant - 32), a scale per 16 weights. Half h of a super-block keeps
     * its low nibbles in {@code ql[64h..64h+64)} and its high bits in {@code qh[32h..32h+32)}: weights
     * 32·part + k (k < 32) take nibble {@code part / 2} of {@code ql[64h + 32·(part % 2) + k]} and bits
     * 2·part of {@code qh[32h + k]}. The quants are assembled {@code LANES} at a time while still
     * packed four to a 32-bit lane (one load each of ql and qh serves all four parts), then widened
     * once; the 16 scales of a super-block are converted as a vector first.
     */
    private static float q6_KDot(MemorySegment seg, long o, int blocks, float[] x, int xOff, float[] scales) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int b = 0; b < blocks; b++, o += 210) {
            float d = Float.float16ToFloat(seg.get(HALF, o + Q6_K_D));
            for (int p = 0; p < 16; p += LANES) quants(seg, o + Q6_K_SCALES + p).mul(d).intoArray(scales, p);
            for (int h = 0; h < 2; h++) {
                for (int k = 0; k < 32; k += LANES) {
                    IntVector lowA = IntVector.fromMemorySegment(IB, seg, o + 64L * h + k, LE);
                    IntVector lowB = IntVector.fromMemorySegment(IB, seg, o + 64L * h + 32 + k, LE);
                    IntVector high = IntVector.fromMemorySegment(IB, seg, o + Q6_K_QH + 32L * h + k, LE);
                    int xo = xOff + 256 * b + 128 * h + k, s = 8 * h + k / 16;
                    // A loop rather than four unrolled parts: unrolled, this method outgrew C2's inlining
                    // node limit, the vectors were boxed and the kernel ran 5x slower.
                    for (int nibble = 0; nibble < 2; nibble++) {
                        IntVector partA = lowA.lanewise(VectorOperators.LSHR, 4 * nibble).and(0x0F0F0F0F)
                                .or(high.lanewise(VectorOperators.LSHR, 4 * nibble).and(0x03030303).lanewise(VectorOperators.LSHL, 4));
                        IntVector partB = lowB.lanewise(VectorOperators.LSHR, 4 * nibble).and(0x0F0F0F0F)
                                .or(high.lanewise(VectorOperators.LSHR, 4 * nibble + 2).and(0x03030303).lanewise(VectorOperators.LSHL, 4));
                        a0 = q6Part(partA, x, xo + 64 * nibble, scales[s + 4 * nibble], a0);
                        a1 = q6Part(partB, x, xo + 64 * nibble + 32, scales[s + 4 * nibble + 2], a1);
                    }
                }
            }
        }
        return VectorMath.sum(a0.add(a1));
    }

    /** Adds scale·Σ (q - 32)·x over {@code LANES} weights whose unsigned 6-bit quants are the bytes of {@code q}. */
    private static FloatVector q6Part(IntVector q, float[] x, int xo, float scale, FloatVector acc) {
        FloatVector w = (FloatVector) q.reinterpretAsBytes().sub((byte) 32).convertShape(VectorOperators.B2F, F, 0);
        return w.mul(FloatVector.fromArray(F, x, xo)).fma(FloatVector.broadcast(F, scale), acc);
    }

    /** {@code LANES} signed quant bytes as floats. */
    private static FloatVector quants(MemorySegment seg, long o) {
        return (FloatVector) ByteVector.fromMemorySegment(B, seg, o, LE).convertShape(VectorOperators.B2F, F, 0);
    }

    /**
     * The 6-bit scales of Q4_K sub-blocks 4·half .. 4·half+3, one per byte of the result (llama.cpp's
     * get_scale_min_k4 on 32-bit words): {@code first} is bytes 0–3 of the 12 packed bytes, {@code high} bytes 8–11.
     */
    private static int q4KScales(int first, int high, int half) {
        return half == 0 ? first & 0x3F3F3F3F : (high & 0x0F0F0F0F) | ((first >>> 6 & 0x03030303) << 4);
    }

    /** The 6-bit minima of Q4_K sub-blocks 4·half .. 4·half+3, as {@link #q4KScales}; {@code second} is bytes 4–7. */
    private static int q4KMinima(int second, int high, int half) {
        return half == 0 ? second & 0x3F3F3F3F : (high >>> 4 & 0x0F0F0F0F) | ((second >>> 6 & 0x03030303) << 4);
    }

    /** {@code LANES} bytes zero-extended to 32-bit lanes, where shifts and masks are single instructions: a high nibble needs no mask. */
    private static IntVector unsignedBytes(MemorySegment seg, long o) {
        return (IntVector) ByteVector.fromMemorySegment(B, seg, o, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    private static FloatVector floats(IntVector v) {
        return (FloatVector) v.convert(VectorOperators.I2F, 0);
    }
}
