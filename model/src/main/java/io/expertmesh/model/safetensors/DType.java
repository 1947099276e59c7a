package io.expertmesh.model.safetensors;

import java.util.Arrays;

/**
 * Element types of checkpoint tensors. The plain ones are what a safetensors header may name; the
 * block-quantized ones (GGML's Q8_0, Q4_0, Q4_K, Q6_K) come from GGUF files and store a row as
 * blocks of {@link #blockElements} weights in {@link #blockBytes} bytes each.
 */
public enum DType {
    BF16(1, 2, true),
    F16(1, 2, true),
    F32(1, 4, true),
    F64(1, 8, false),
    I8(1, 1, false),
    U8(1, 1, false),
    I16(1, 2, false),
    I32(1, 4, false),
    I64(1, 8, false),
    BOOL(1, 1, false),
    /** 32 weights: an f16 scale, then 32 signed bytes. */
    Q8_0(32, 34, true),
    /** 32 weights: an f16 scale, then 16 bytes of 4-bit values (offset by 8). */
    Q4_0(32, 18, true),
    /** 256 weights: f16 scale and min, 12 bytes of 6-bit sub-block scales and mins, 128 bytes of 4-bit values. */
    Q4_K(256, 144, true),
    /** 256 weights: 128 bytes of low 4 bits, 64 bytes of high 2 bits, 16 signed sub-block scales, an f16 scale. */
    Q6_K(256, 210, true);

    private final int blockElements;
    private final int blockBytes;
    private final boolean weightType;

    DType(int blockElements, int blockBytes, boolean weightType) {
        this.blockElements = blockElements;
        this.blockBytes = blockBytes;
        this.weightType = weightType;
    }

    /** Bytes of one element; only for the plain (not block-quantized) types. */
    public int bytes() {
        if (isQuantized()) throw new IllegalStateException(this + " stores blocks of " + blockElements + " weights, not single elements");
        return blockBytes;
    }

    public int blockElements() {
        return blockElements;
    }

    public int blockBytes() {
        return blockBytes;
    }

    public boolean isQuantized() {
        return blockElements > 1;
    }

    /** Bytes that {@code elements} consecutive elements take; a block type needs a whole number of blocks. */
    public long byteSize(long elements) {
        if (elements % blockElements != 0) {
            throw new IllegalArgumentException(elements + " elements are not a whole number of " + this + " blocks of " + blockElements);
        }
        return Math.multiplyExact(elements / blockElements, (long) blockBytes);
    }

    /** Whether the forward pass has kernels for weights of this type (widened or dequantized to fp32 on the fly). */
    public boolean isWeightType() {
        return weightType;
    }

    /** The dtype for a safetensors header's spelling, or null when unknown (block types are not safetensors types). */
    public static DType fromHeader(String name) {
        return Arrays.stream(values()).filter(d -> !d.isQuantized() && d.name().equals(name)).findFirst().orElse(null);
    }
}
