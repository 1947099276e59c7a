package io.expertmesh.model.weights;

import io.expertmesh.model.safetensors.DType;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * GGML's block layouts ({@code block_q8_0}, {@code block_q4_0}, {@code block_q4_K}, {@code block_q6_K}
 * of ggml-common.h) and their dequantization, the exact reference: bit for bit what gguf-py's
 * {@code gguf.quants.dequantize} computes, which rounds to fp32 after every operation in the order
 * written here (no fused multiply-adds). The Vector API kernels compute the same weights.
 */
public final class QuantizedBlocks {
    private static final ValueLayout.OfShort HALF = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfByte BYTE = ValueLayout.JAVA_BYTE;

    /** Q4_K: byte offsets of the f16 super-block min, the 12 bytes of 6-bit scales and mins, and the nibbles. */
    public static final int Q4_K_DMIN = 2, Q4_K_SCALES = 4, Q4_K_QS = 16;
    /** Q6_K: byte offsets of the high 2 bits, the 16 signed sub-block scales and the f16 super-block scale. */
    public static final int Q6_K_QH = 128, Q6_K_SCALES = 192, Q6_K_D = 208;

    private QuantizedBlocks() {}

    /** {@code elements} weights (whole blocks) starting at byte {@code offset} of {@code src}, into {@code out[outOff..)}. */
    public static void dequantize(DType type, MemorySegment src, long offset, int elements, float[] out, int outOff) {
        int n = type.blockElements();
        int blocks = Math.toIntExact(type.byteSize(elements) / type.blockBytes());
        for (int b = 0; b < blocks; b++) {
            long o = offset + (long) b * type.blockBytes();
            int y = outOff + b * n;
            switch (type) {
                case Q8_0 -> q8_0(src, o, out, y);
                case Q4_0 -> q4_0(src, o, out, y);
                case Q4_K -> q4_K(src, o, out, y);
                case Q6_K -> q6_K(src, o, out, y);
                default -> throw new IllegalArgumentException(type + " is not a block-quantized type");
            }
        }
    }

    public static float half(MemorySegment s, long offset) {
        return Float.float16ToFloat(s.get(HALF, offset));
    }

    private static int u8(MemorySegment s, long offset) {
        return s.get(BYTE, offset) & 0xFF;
    }

    private static void q8_0(MemorySegment s, long o, float[] y, int off) {
        float d = half(s, o);
        for (int j = 0; j < 32; j++) y[off + j] = s.get(BYTE, o + 2 + j) * d;
    }

    /** Byte j holds weight j in its low nibble and weight j + 16 in its high one, both offset by 8. */
    private static void q4_0(MemorySegment s, long o, float[] y, int off) {
        float d = half(s, o);
        for (int j = 0; j < 16; j++) {
            int q = u8(s, o + 2 + j);
            y[off + j] = d * ((q & 0xF) - 8);
            y[off + j + 16] = d * ((q >> 4) - 8);
        }
    }

    /**
     * Eight sub-blocks of 32 weights, {@code w = (d·scale) · q - dmin·min}; each 32 bytes of nibbles
     * hold sub-block 2c in their low nibbles and sub-block 2c + 1 in their high ones.
     */
    private static void q4_K(MemorySegment s, long o, float[] y, int off) {
        float d = half(s, o);
        float dmin = half(s, o + Q4_K_DMIN);
        for (int j = 0; j < 8; j++) {
            float scale = d * q4KScale(s, o + Q4_K_SCALES, j);
            float min = dmin * q4KMin(s, o + Q4_K_SCALES, j);
            long q = o + Q4_K_QS + 32L * (j / 2);
            int shift = 4 * (j % 2);
            for (int l = 0; l < 32; l++) y[off + 32 * j + l] = scale * ((u8(s, q + l) >> shift) & 0xF) - min;
        }
    }

    /** The 6-bit scale of Q4_K sub-block j from the 12 packed bytes at {@code scales} (ggml's get_scale_min_k4). */
    public static int q4KScale(MemorySegment s, long scales, int j) {
        return j < 4 ? u8(s, scales + j) & 63 : (u8(s, scales + j + 4) & 0xF) | ((u8(s, scales + j - 4) >> 6) << 4);
    }

    /** The 6-bit min of Q4_K sub-block j. */
    public static int q4KMin(MemorySegment s, long scales, int j) {
        return j < 4 ? u8(s, scales + j + 4) & 63 : (u8(s, scales + j + 4) >> 4) | ((u8(s, scales + j) >> 6) << 4);
    }

    /**
     * Two halves of 128 weights; in half h, weight 32·part + l takes its low 4 bits from
     * {@code ql[64h + 32·(part % 2) + l]} (low nibble for parts 0 and 1, high for 2 and 3) and its high
     * 2 bits from bits 2·part of {@code qh[32h + l]}, offset by 32; weight e is scaled by
     * {@code d · scales[e / 16]}.
     */
    private static void q6_K(MemorySegment s, long o, float[] y, int off) {
        float d = half(s, o + Q6_K_D);
        for (int h = 0; h < 2; h++) {
            for (int part = 0; part < 4; part++) {
                for (int l = 0; l < 32; l++) {
                    int e = 128 * h + 32 * part + l;
                    int low = (u8(s, o + 64L * h + 32 * (part % 2) + l) >> (4 * (part / 2))) & 0xF;
                    int high = (u8(s, o + Q6_K_QH + 32L * h + l) >> (2 * part)) & 3;
                    y[off + e] = d * s.get(BYTE, o + Q6_K_SCALES + e / 16) * ((low | high << 4) - 32);
                }
            }
        }
    }
}
