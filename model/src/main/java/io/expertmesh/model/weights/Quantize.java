package io.expertmesh.model.weights;

import io.expertmesh.model.safetensors.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * fp32 weights to GGML blocks, ported operation by operation from llama.cpp's reference quantizers
 * ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref}, {@code quantize_row_q4_K_ref},
 * {@code quantize_row_q6_K_ref} in ggml-quants.c), so that files written from these blocks are what
 * llama.cpp itself would write. Every expression keeps C's fp32 evaluation order; none is fused.
 */
public final class Quantize {
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;
    /** ggml's GROUP_MAX_EPS: a group whose largest magnitude is below it quantizes to zeros. */
    private static final float GROUP_MAX_EPS = 1e-15f;

    private Quantize() {}

    /** {@code src} quantized row by row into a new matrix of {@code type} allocated in {@code arena}. */
    public static WeightMatrix matrix(WeightMatrix src, DType type, Arena arena) {
        MemorySegment data = arena.allocate(type.byteSize((long) src.rows() * src.cols()));
        long rowBytes = type.byteSize(src.cols());
        float[] row = new float[src.cols()];
        for (int r = 0; r < src.rows(); r++) {
            src.readRow(r, row, 0);
            row(type, row, 0, src.cols(), data, r * rowBytes);
        }
        return new WeightMatrix(src.name(), type, src.rows(), src.cols(), data);
    }

    /** {@code x[xOff..xOff+n)} (whole blocks) as blocks of {@code type} written at byte {@code dstOff} of {@code dst}. */
    public static void row(DType type, float[] x, int xOff, int n, MemorySegment dst, long dstOff) {
        int blocks = Math.toIntExact(type.byteSize(n) / type.blockBytes());
        for (int b = 0; b < blocks; b++) {
            int from = xOff + b * type.blockElements();
            long y = dstOff + (long) b * type.blockBytes();
            switch (type) {
                case Q8_0 -> q8_0(x, from, dst, y);
                case Q4_0 -> q4_0(x, from, dst, y);
                case Q4_K -> q4_K(x, from, dst, y);
                case Q6_K -> q6_K(x, from, dst, y);
                default -> throw new IllegalArgumentException(type + " is not a block-quantized type");
            }
        }
    }

    private static void putHalf(MemorySegment dst, long offset, float value) {
        dst.set(HALF, offset, Float.floatToFloat16(value));
    }

    /** C's roundf: halves round away from zero. */
    private static float roundAwayFromZero(float v) {
        float a = Math.abs(v);
        float floor = (float) Math.floor(a);
        return Math.copySign(a - floor >= 0.5f ? floor + 1 : floor, v);
    }

    /** ggml's nearest_int: round half to even through the bits of {@code v + 1.5·2^23} (|v| ≤ 2^22). */
    static int nearestInt(float v) {
        float val = v + 12582912f;
        return (Float.floatToRawIntBits(val) & 0x007fffff) - 0x00400000;
    }

    private static void q8_0(float[] x, int o, MemorySegment dst, long y) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[o + j]));
        float d = amax / 127;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putHalf(dst, y, d);
        for (int j = 0; j < 32; j++) dst.set(BYTE, y + 2 + j, (byte) roundAwayFromZero(x[o + j] * id));
    }

    private static void q4_0(float[] x, int o, MemorySegment dst, long y) {
        float amax = 0;
        float max = 0;
        for (int j = 0; j < 32; j++) {
            float v = x[o + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1.0f / d : 0.0f;
        putHalf(dst, y, d);
        for (int j = 0; j < 16; j++) {
            int lo = Math.min(15, (byte) (x[o + j] * id + 8.5f));
            int hi = Math.min(15, (byte) (x[o + 16 + j] * id + 8.5f));
            dst.set(BYTE, y + 2 + j, (byte) (lo | hi << 4));
        }
    }

    private static void q4_K(float[] x, int o, MemorySegment dst, long y) {
        int[] levels = new int[256];
        int[] aux = new int[32];
        float[] weights = new float[32];
        float[] mins = new float[8];
        float[] scales = new float[8];
        float maxScale = 0;
        float maxMin = 0;
        for (int j = 0; j < 8; j++) {
            float sumX2 = 0;
            for (int l = 0; l < 32; l++) sumX2 += x[o + 32 * j + l] * x[o + 32 * j + l];
            float avX = (float) Math.sqrt(sumX2 / 32);
            for (int l = 0; l < 32; l++) weights[l] = avX + Math.abs(x[o + 32 * j + l]);
            scales[j] = makeQkx2Quants(32, 15, x, o + 32 * j, weights, levels, 32 * j, mins, j, aux, -1f, 0.1f, 20);
            if (scales[j] > maxScale) maxScale = scales[j];
            if (mins[j] > maxMin) maxMin = mins[j];
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f;
        float invMin = maxMin > 0 ? 63f / maxMin : 0f;
        byte[] packed = new byte[12];
        for (int j = 0; j < 8; j++) {
            int ls = Math.min(63, nearestInt(invScale * scales[j]) & 0xFF);
            int lm = Math.min(63, nearestInt(invMin * mins[j]) & 0xFF);
            if (j < 4) {
                packed[j] = (byte) ls;
                packed[j + 4] = (byte) lm;
            } else {
                packed[j + 4] = (byte) ((ls & 0xF) | ((lm & 0xF) << 4));
                packed[j - 4] |= (byte) ((ls >> 4) << 6);
                packed[j] |= (byte) ((lm >> 4) << 6);
            }
        }
        putHalf(dst, y, maxScale / 63f);
        putHalf(dst, y + QuantizedBlocks.Q4_K_DMIN, maxMin / 63f);
        MemorySegment.copy(packed, 0, dst, BYTE, y + QuantizedBlocks.Q4_K_SCALES, 12);
        float dAll = QuantizedBlocks.half(dst, y);
        float dminAll = QuantizedBlocks.half(dst, y + QuantizedBlocks.Q4_K_DMIN);
        for (int j = 0; j < 8; j++) {
            float d = dAll * QuantizedBlocks.q4KScale(dst, y + QuantizedBlocks.Q4_K_SCALES, j);
            if (d == 0) continue;
            float dm = dminAll * QuantizedBlocks.q4KMin(dst, y + QuantizedBlocks.Q4_K_SCALES, j);
            for (int ii = 0; ii < 32; ii++) {
                int l = nearestInt((x[o + 32 * j + ii] + dm) / d);
                levels[32 * j + ii] = Math.max(0, Math.min(15, l));
            }
        }
        for (int j = 0; j < 256; j += 64) {
            for (int l = 0; l < 32; l++) {
                dst.set(BYTE, y + QuantizedBlocks.Q4_K_QS + j / 2 + l, (byte) (levels[j + l] | levels[j + l + 32] << 4));
            }
        }
    }

    /**
     * ggml's make_qkx2_quants: levels in [0, nmax] for {@code x[xOff..xOff+n)} with an affine fit
     * {@code scale·L - min}, searching {@code nstep + 1} candidate scales by weighted squared error.
     * Writes the levels to {@code levels[lOff..)}, the min (negated, as ggml returns it) to
     * {@code theMin[minIndex]} and returns the scale.
     */
    private static float makeQkx2Quants(int n, int nmax, float[] x, int xOff, float[] weights, int[] levels, int lOff,
                                        float[] theMin, int minIndex, int[] aux, float rmin, float rdelta, int nstep) {
        float min = x[xOff];
        float max = x[xOff];
        float sumW = weights[0];
        float sumX = sumW * x[xOff];
        for (int i = 1; i < n; i++) {
            if (x[xOff + i] < min) min = x[xOff + i];
            if (x[xOff + i] > max) max = x[xOff + i];
            float w = weights[i];
            sumW += w;
            sumX += w * x[xOff + i];
        }
        if (min > 0) min = 0;
        if (max == min) {
            for (int i = 0; i < n; i++) levels[lOff + i] = 0;
            theMin[minIndex] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min);
        float scale = 1 / iscale;
        float bestError = 0;
        for (int i = 0; i < n; i++) {
            int l = nearestInt(iscale * (x[xOff + i] - min));
            levels[lOff + i] = Math.max(0, Math.min(nmax, l));
            float diff = scale * levels[lOff + i] + min - x[xOff + i];
            diff = diff * diff;
            bestError += weights[i] * diff;
        }
        for (int is = 0; is <= nstep; is++) {
            iscale = (rmin + rdelta * is + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++) {
                int l = nearestInt(iscale * (x[xOff + i] - min));
                l = Math.max(0, Math.min(nmax, l));
                aux[i] = l;
                float w = weights[i];
                sumL += w * l;
                sumL2 += w * l * l;
                sumXL += w * l * x[xOff + i];
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det > 0) {
                float thisScale = (sumW * sumXL - sumX * sumL) / det;
                float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
                if (thisMin > 0) {
                    thisMin = 0;
                    thisScale = sumXL / sumL2;
                }
                float curError = 0;
                for (int i = 0; i < n; i++) {
                    float diff = thisScale * aux[i] + thisMin - x[xOff + i];
                    diff = diff * diff;
                    curError += weights[i] * diff;
                }
                if (curError < bestError) {
                    System.arraycopy(aux, 0, levels, lOff, n);
                    bestError = curError;
                    scale = thisScale;
                    min = thisMin;
                }
            }
        }
        theMin[minIndex] = -min;
        return scale;
    }

    private static void q6_K(float[] x, int o, MemorySegment dst, long y) {
        int[] levels = new int[256];
        float[] scales = new float[16];
        float maxScale = 0;
        float maxAbsScale = 0;
        for (int ib = 0; ib < 16; ib++) {
            float scale = makeQxQuants(16, 32, x, o + 16 * ib, levels, 16 * ib);
            scales[ib] = scale;
            float absScale = Math.abs(scale);
            if (absScale > maxAbsScale) {
                maxAbsScale = absScale;
                maxScale = scale;
            }
        }
        if (maxAbsScale < GROUP_MAX_EPS) {
            dst.asSlice(y, DType.Q6_K.blockBytes()).fill((byte) 0);
            return;
        }
        float iscale = -128f / maxScale;
        putHalf(dst, y + QuantizedBlocks.Q6_K_D, 1 / iscale);
        for (int ib = 0; ib < 16; ib++) {
            dst.set(BYTE, y + QuantizedBlocks.Q6_K_SCALES + ib, (byte) Math.min(127, nearestInt(iscale * scales[ib])));
        }
        float dAll = QuantizedBlocks.half(dst, y + QuantizedBlocks.Q6_K_D);
        for (int j = 0; j < 16; j++) {
            float d = dAll * dst.get(BYTE, y + QuantizedBlocks.Q6_K_SCALES + j);
            if (d == 0) continue;
            for (int ii = 0; ii < 16; ii++) {
                int l = nearestInt(x[o + 16 * j + ii] / d);
                levels[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
            }
        }
        for (int j = 0; j < 256; j += 128) {
            long ql = y + j / 2;
            long qh = y + QuantizedBlocks.Q6_K_QH + j / 4;
            for (int l = 0; l < 32; l++) {
                int q1 = levels[j + l] & 0xF, q2 = levels[j + l + 32] & 0xF;
                int q3 = levels[j + l + 64] & 0xF, q4 = levels[j + l + 96] & 0xF;
                dst.set(BYTE, ql + l, (byte) (q1 | q3 << 4));
                dst.set(BYTE, ql + l + 32, (byte) (q2 | q4 << 4));
                dst.set(BYTE, qh + l, (byte) ((levels[j + l] >> 4) | ((levels[j + l + 32] >> 4) << 2)
                        | ((levels[j + l + 64] >> 4) << 4) | ((levels[j + l + 96] >> 4) << 6)));
            }
        }
    }

    /**
     * ggml's make_qx_quants with rmse_type 1 and no importance weights: signed levels in
     * [-nmax, nmax) stored offset by nmax into {@code levels[lOff..)}, the scale chosen among 19
     * candidates by the x²-weighted fit; returns the scale.
     */
    private static float makeQxQuants(int n, int nmax, float[] x, int xOff, int[] levels, int lOff) {
        float max = 0;
        float amax = 0;
        for (int i = 0; i < n; i++) {
            float ax = Math.abs(x[xOff + i]);
            if (ax > amax) {
                amax = ax;
                max = x[xOff + i];
            }
        }
        if (amax < GROUP_MAX_EPS) {
            for (int i = 0; i < n; i++) levels[lOff + i] = 0;
            return 0f;
        }
        float iscale = -nmax / max;
        float sumlx = 0;
        float suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = nearestInt(iscale * x[xOff + i]);
            l = Math.max(-nmax, Math.min(nmax - 1, l));
            levels[lOff + i] = l + nmax;
            float w = x[xOff + i] * x[xOff + i];
            sumlx += w * x[xOff + i] * l;
            suml2 += w * l * l;
        }
        float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
        float best = scale * sumlx;
        for (int is = -9; is <= 9; is++) {
            if (is == 0) continue;
            iscale = -(nmax + 0.1f * is) / max;
            sumlx = 0;
            suml2 = 0;
            for (int i = 0; i < n; i++) {
                int l = nearestInt(iscale * x[xOff + i]);
                l = Math.max(-nmax, Math.min(nmax - 1, l));
                float w = x[xOff + i] * x[xOff + i];
                sumlx += w * x[xOff + i] * l;
                suml2 += w * l * l;
            }
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                for (int i = 0; i < n; i++) {
                    int l = nearestInt(iscale * x[xOff + i]);
                    levels[lOff + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, l));
                }
                scale = sumlx / suml2;
                best = scale * sumlx;
            }
        }
        return scale;
    }
}
