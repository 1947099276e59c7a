package io.expertmesh.model.kernels;

import static io.expertmesh.model.kernels.VectorMath.F;
import static io.expertmesh.model.kernels.VectorMath.LANES;
import static io.expertmesh.model.weights.QuantizedBlocks.Q4_K_DMIN;
import static io.expertmesh.model.weights.QuantizedBlocks.Q4_K_QS;
import static io.expertmesh.model.weights.QuantizedBlocks.Q4_K_SCALES;
import static io.expertmesh.model.weights.QuantizedBlocks.Q6_K_D;
import static io.expertmesh.model.weights.QuantizedBlocks.Q6_K_QH;
import static io.expertmesh.model.weights.QuantizedBlocks.Q6_K_SCALES;

import io.expertmesh.model.weights.QuantizedBlocks;
import io.expertmesh.model.weights.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels for GGML block-quantized weights (Q8_0, Q4_0, Q4_K, Q6_K) and fp32
 * activations: the decode products, and the dequantization of prefill tiles.
 *
 * <p>Quantized weights are dotted with the activations in their natural order, not the permuted
 * order of {@link VectorMath#permute}: every one of these layouts stores its quants in runs of 16
 * or 32 consecutive weights, so loading {@code LANES} quant bytes and widening them gives
 * {@code LANES} consecutive weights with no shuffle. The prefill path dequantizes tile rows in the
 * same natural order ({@link #dequantizeRow}), so both paths use plain activations.
 *
 * <p>Each weight is dequantized in registers with exactly the fp32 operations of
 * {@link QuantizedBlocks} (scale products rounded, no fusing), then fed to one fused multiply-add
 * per lane in the canonical order of {@link VectorMath}. A weight row's product is therefore the
 * canonical dot product of its dequantized row, bit for bit, whether it streams here or goes
 * through a dequantized tile.
 *
 * <p>Four weight rows share each pass so that four FMA chains and four streams run at once; the
 * scale arithmetic per block keeps the other execution ports busy, so more rows buy nothing. Each
 * group of four rows is dotted with every activation row while its bytes are still in L1, so the
 * quantized weights are read from memory once per product.
 */
final class QuantizedMath {
    /** Whether a byte vector of {@code LANES} lanes exists, i.e. the float vector has 8 lanes or more. */
    static final boolean STREAMS = LANES >= 8 && 32 % LANES == 0;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(8 * Math.max(8, LANES)));
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final int ROWS = 4;

    private QuantizedMath() {}

    /**
     * {@code out[t][r] = W[r] · x[t]} for weight rows [r0, r1) and every activation row t of
     * {@code x} (natural order); {@code rowScratch} holds at least {@code cols} floats.
     */
    static void rows(WeightMatrix w, int r0, int r1, FloatMatrix x, FloatMatrix out, float[] rowScratch) {
        MemorySegment seg = w.data();
        long rowBytes = w.rowBytes();
        int blocks = w.cols() / w.dtype().blockElements();
        float[] lanes = new float[ROWS * LANES];
        float[] scales = new float[ROWS * 16];
        float[] xd = x.data();
        float[] od = out.data();
        int r = r0;
        for (; r + ROWS <= r1; r += ROWS) {
            long base = r * rowBytes;
            for (int t = 0; t < x.rows(); t++) {
                int xOff = t * x.cols();
                switch (w.dtype()) {
                    case Q8_0 -> q8_0Rows(seg, base, rowBytes, blocks, xd, xOff, lanes);
                    case Q4_0 -> q4_0Rows(seg, base, rowBytes, blocks, xd, xOff, lanes);
                    case Q4_K -> q4_KRows(seg, base, rowBytes, blocks, xd, xOff, lanes, scales);
                    case Q6_K -> q6_KRows(seg, base, rowBytes, blocks, xd, xOff, lanes, scales);
                    default -> throw new IllegalArgumentException(w.name() + ": " + w.dtype() + " is not block-quantized");
                }
                for (int j = 0; j < ROWS; j++) od[t * out.cols() + r + j] = VectorMath.fold(lanes, j * LANES);
            }
        }
        // The last few rows of a matrix: the canonical dot of the dequantized row gives the same bits.
        for (; r < r1; r++) {
            dequantizeRow(w, r, rowScratch, 0);
            for (int t = 0; t < x.rows(); t++) od[t * out.cols() + r] = VectorMath.dot(rowScratch, 0, xd, t * x.cols(), w.cols());
        }
    }

    /**
     * Weight row {@code r} dequantized into {@code out[off..off+cols)} in natural order: the values of
     * {@link WeightMatrix#readRow}, bit for bit, computed a vector at a time with the operations of
     * the row kernels below (the prefill path fills its tiles with it).
     */
    static void dequantizeRow(WeightMatrix w, int r, float[] out, int off) {
        if (!STREAMS) {
            w.readRow(r, out, off);
            return;
        }
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

    private static void q8_0Row(MemorySegment seg, long base, int blocks, float[] out, int off) {
        for (int b = 0; b < blocks; b++) {
            long o = base + 34L * b;
            float d = Float.float16ToFloat(seg.get(HALF, o));
            for (int p = 0; p < 32; p += LANES) {
                ((FloatVector) ByteVector.fromMemorySegment(B, seg, o + 2 + p, LE).convertShape(VectorOperators.B2F, F, 0)).mul(d)
                        .intoArray(out, off + 32 * b + p);
            }
        }
    }

    private static void q4_0Row(MemorySegment seg, long base, int blocks, float[] out, int off) {
        for (int b = 0; b < blocks; b++) {
            long o = base + 18L * b;
            float d = Float.float16ToFloat(seg.get(HALF, o));
            for (int half = 0; half < 2; half++) {
                for (int p = 0; p < 16; p += LANES) {
                    ((FloatVector) ByteVector.fromMemorySegment(B, seg, o + 2 + p, LE).lanewise(VectorOperators.LSHR, 4 * half)
                            .and((byte) 0xF).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(d)
                            .intoArray(out, off + 32 * b + 16 * half + p);
                }
            }
        }
    }

    private static void q4_KRow(MemorySegment seg, long base, int blocks, float[] out, int off) {
        for (int b = 0; b < blocks; b++) {
            long o = base + 144L * b;
            float d = QuantizedBlocks.half(seg, o);
            float dmin = QuantizedBlocks.half(seg, o + Q4_K_DMIN);
            for (int j = 0; j < 8; j++) {
                float scale = d * QuantizedBlocks.q4KScale(seg, o + Q4_K_SCALES, j);
                float min = dmin * QuantizedBlocks.q4KMin(seg, o + Q4_K_SCALES, j);
                long q = o + Q4_K_QS + 32L * (j / 2);
                for (int p = 0; p < 32; p += LANES) {
                    ((FloatVector) ByteVector.fromMemorySegment(B, seg, q + p, LE).lanewise(VectorOperators.LSHR, 4 * (j % 2))
                            .and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(scale, -min)
                            .intoArray(out, off + 256 * b + 32 * j + p);
                }
            }
        }
    }

    private static void q6_KRow(MemorySegment seg, long base, int blocks, float[] out, int off) {
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
                                .intoArray(out, off + 256 * b + e);
                    }
                }
            }
        }
    }

    /** Q8_0: w = q · d; a block's 32 quants are 32 consecutive weights. */
    private static void q8_0Rows(MemorySegment seg, long base, long rowBytes, int blocks, float[] x, int xOff, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < blocks; b++) {
            long o0 = base + 34L * b, o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes;
            float d0 = Float.float16ToFloat(seg.get(HALF, o0)), d1 = Float.float16ToFloat(seg.get(HALF, o1));
            float d2 = Float.float16ToFloat(seg.get(HALF, o2)), d3 = Float.float16ToFloat(seg.get(HALF, o3));
            for (int p = 0; p < 32; p += LANES) {
                FloatVector u = FloatVector.fromArray(F, x, xOff + 32 * b + p);
                long q = 2 + p;
                a0 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o0 + q, LE).convertShape(VectorOperators.B2F, F, 0)).mul(d0).fma(u, a0);
                a1 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o1 + q, LE).convertShape(VectorOperators.B2F, F, 0)).mul(d1).fma(u, a1);
                a2 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o2 + q, LE).convertShape(VectorOperators.B2F, F, 0)).mul(d2).fma(u, a2);
                a3 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o3 + q, LE).convertShape(VectorOperators.B2F, F, 0)).mul(d3).fma(u, a3);
            }
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, LANES);
        a2.intoArray(lanes, 2 * LANES);
        a3.intoArray(lanes, 3 * LANES);
    }

    /**
     * Q4_0: w = d · (nibble - 8); the 16 low nibbles are weights 0..15 and the high ones 16..31, so the
     * low halves of all parts go first to keep each lane's additions in ascending order.
     */
    private static void q4_0Rows(MemorySegment seg, long base, long rowBytes, int blocks, float[] x, int xOff, float[] lanes) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < blocks; b++) {
            long o0 = base + 18L * b, o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes;
            float d0 = Float.float16ToFloat(seg.get(HALF, o0)), d1 = Float.float16ToFloat(seg.get(HALF, o1));
            float d2 = Float.float16ToFloat(seg.get(HALF, o2)), d3 = Float.float16ToFloat(seg.get(HALF, o3));
            for (int half = 0; half < 2; half++) {
                int shift = 4 * half;
                for (int p = 0; p < 16; p += LANES) {
                    FloatVector u = FloatVector.fromArray(F, x, xOff + 32 * b + 16 * half + p);
                    long q = 2 + p;
                    a0 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o0 + q, LE).lanewise(VectorOperators.LSHR, shift).and((byte) 0xF)
                            .sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(d0).fma(u, a0);
                    a1 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o1 + q, LE).lanewise(VectorOperators.LSHR, shift).and((byte) 0xF)
                            .sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(d1).fma(u, a1);
                    a2 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o2 + q, LE).lanewise(VectorOperators.LSHR, shift).and((byte) 0xF)
                            .sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(d2).fma(u, a2);
                    a3 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o3 + q, LE).lanewise(VectorOperators.LSHR, shift).and((byte) 0xF)
                            .sub((byte) 8).convertShape(VectorOperators.B2F, F, 0)).mul(d3).fma(u, a3);
                }
            }
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, LANES);
        a2.intoArray(lanes, 2 * LANES);
        a3.intoArray(lanes, 3 * LANES);
    }

    /**
     * Q4_K: w = (d·scale) · nibble - dmin·min per sub-block of 32. The 6-bit scales and mins are
     * unpacked once per super-block into {@code scales} (row i's eight scales, then its eight mins,
     * at 16·i), outside the vector loop. The product (d·scale)·nibble needs at most 11 + 6 + 4 bits,
     * so it is exact in fp32 and one fused multiply-add gives the reference's bits with one
     * operation fewer.
     */
    private static void q4_KRows(MemorySegment seg, long base, long rowBytes, int blocks, float[] x, int xOff, float[] lanes,
                                 float[] scales) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < blocks; b++) {
            long o0 = base + 144L * b, o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes;
            q4_KScales(seg, o0, rowBytes, scales);
            for (int j = 0; j < 8; j++) {
                int shift = 4 * (j % 2);
                long q = Q4_K_QS + 32L * (j / 2);
                for (int p = 0; p < 32; p += LANES) {
                    FloatVector u = FloatVector.fromArray(F, x, xOff + 256 * b + 32 * j + p);
                    a0 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o0 + q + p, LE).lanewise(VectorOperators.LSHR, shift)
                            .and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(scales[j], -scales[8 + j]).fma(u, a0);
                    a1 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o1 + q + p, LE).lanewise(VectorOperators.LSHR, shift)
                            .and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(scales[16 + j], -scales[24 + j]).fma(u, a1);
                    a2 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o2 + q + p, LE).lanewise(VectorOperators.LSHR, shift)
                            .and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(scales[32 + j], -scales[40 + j]).fma(u, a2);
                    a3 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o3 + q + p, LE).lanewise(VectorOperators.LSHR, shift)
                            .and((byte) 0xF).convertShape(VectorOperators.B2F, F, 0)).fma(scales[48 + j], -scales[56 + j]).fma(u, a3);
                }
            }
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, LANES);
        a2.intoArray(lanes, 2 * LANES);
        a3.intoArray(lanes, 3 * LANES);
    }

    private static void q4_KScales(MemorySegment seg, long o, long rowBytes, float[] scales) {
        for (int i = 0; i < ROWS; i++) {
            long block = o + i * rowBytes;
            float d = QuantizedBlocks.half(seg, block);
            float dmin = QuantizedBlocks.half(seg, block + Q4_K_DMIN);
            for (int j = 0; j < 8; j++) {
                scales[16 * i + j] = d * QuantizedBlocks.q4KScale(seg, block + Q4_K_SCALES, j);
                scales[16 * i + 8 + j] = dmin * QuantizedBlocks.q4KMin(seg, block + Q4_K_SCALES, j);
            }
        }
    }

    /**
     * Q6_K: w = (d·scale) · (6-bit quant - 32), a scale per 16 weights. In half h, part {@code part}
     * (weights 32·part.. of the half) takes nibble {@code part / 2} of {@code ql[64h + 32·(part % 2)..]}
     * and bits 2·part of {@code qh[32h..]}; the shifts are uniform arithmetic, not branches, so the
     * loop body stays one straight line of vector operations.
     */
    private static void q6_KRows(MemorySegment seg, long base, long rowBytes, int blocks, float[] x, int xOff, float[] lanes,
                                 float[] scales) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < blocks; b++) {
            long o0 = base + 210L * b, o1 = o0 + rowBytes, o2 = o1 + rowBytes, o3 = o2 + rowBytes;
            q6_KScales(seg, o0, rowBytes, scales);
            for (int h = 0; h < 2; h++) {
                for (int part = 0; part < 4; part++) {
                    long ql = 64L * h + 32 * (part % 2);
                    long qh = Q6_K_QH + 32L * h;
                    int lowShift = 4 * (part / 2);
                    int highShift = 2 * part;
                    for (int p = 0; p < 32; p += LANES) {
                        int e = 128 * h + 32 * part + p;
                        FloatVector u = FloatVector.fromArray(F, x, xOff + 256 * b + e);
                        int s = e / 16;
                        a0 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o0 + ql + p, LE).lanewise(VectorOperators.LSHR, lowShift).and((byte) 0xF)
                                .or(ByteVector.fromMemorySegment(B, seg, o0 + qh + p, LE).lanewise(VectorOperators.LSHR, highShift).and((byte) 3)
                                        .lanewise(VectorOperators.LSHL, 4))
                                .sub((byte) 32).convertShape(VectorOperators.B2F, F, 0)).mul(scales[s]).fma(u, a0);
                        a1 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o1 + ql + p, LE).lanewise(VectorOperators.LSHR, lowShift).and((byte) 0xF)
                                .or(ByteVector.fromMemorySegment(B, seg, o1 + qh + p, LE).lanewise(VectorOperators.LSHR, highShift).and((byte) 3)
                                        .lanewise(VectorOperators.LSHL, 4))
                                .sub((byte) 32).convertShape(VectorOperators.B2F, F, 0)).mul(scales[16 + s]).fma(u, a1);
                        a2 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o2 + ql + p, LE).lanewise(VectorOperators.LSHR, lowShift).and((byte) 0xF)
                                .or(ByteVector.fromMemorySegment(B, seg, o2 + qh + p, LE).lanewise(VectorOperators.LSHR, highShift).and((byte) 3)
                                        .lanewise(VectorOperators.LSHL, 4))
                                .sub((byte) 32).convertShape(VectorOperators.B2F, F, 0)).mul(scales[32 + s]).fma(u, a2);
                        a3 = ((FloatVector) ByteVector.fromMemorySegment(B, seg, o3 + ql + p, LE).lanewise(VectorOperators.LSHR, lowShift).and((byte) 0xF)
                                .or(ByteVector.fromMemorySegment(B, seg, o3 + qh + p, LE).lanewise(VectorOperators.LSHR, highShift).and((byte) 3)
                                        .lanewise(VectorOperators.LSHL, 4))
                                .sub((byte) 32).convertShape(VectorOperators.B2F, F, 0)).mul(scales[48 + s]).fma(u, a3);
                    }
                }
            }
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, LANES);
        a2.intoArray(lanes, 2 * LANES);
        a3.intoArray(lanes, 3 * LANES);
    }

    private static void q6_KScales(MemorySegment seg, long o, long rowBytes, float[] scales) {
        for (int i = 0; i < ROWS; i++) {
            long block = o + i * rowBytes;
            float d = QuantizedBlocks.half(seg, block + Q6_K_D);
            for (int s = 0; s < 16; s++) scales[16 * i + s] = d * seg.get(ValueLayout.JAVA_BYTE, block + Q6_K_SCALES + s);
        }
    }
}
