package io.expertmesh.model.safetensors;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One tensor of a checkpoint: its name, type, shape and the bytes of the memory-mapped file that
 * hold it (row-major, little-endian). Nothing is copied onto the heap.
 */
public record Tensor(String name, DType dtype, long[] shape, MemorySegment data, String file) {
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;

    public long elementCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Element {@code i} widened to fp32; only for floating-point tensors. */
    public float getFloat(long i) {
        return switch (dtype) {
            case BF16 -> Float.intBitsToFloat((data.get(SHORT, i * 2) & 0xFFFF) << 16);
            case F16 -> Float.float16ToFloat(data.get(SHORT, i * 2));
            case F32 -> data.get(FLOAT, i * 4);
            default -> throw new IllegalStateException(name + " is " + dtype + ", not a floating-point tensor");
        };
    }

    /** All elements widened to fp32; meant for small tensors (norms, biases, reference outputs). */
    public float[] toFloatArray() {
        long n = elementCount();
        if (n > Integer.MAX_VALUE) throw new IllegalStateException(name + " is too large to copy");
        float[] out = new float[(int) n];
        for (int i = 0; i < out.length; i++) out[i] = getFloat(i);
        return out;
    }

    public int[] toIntArray() {
        if (dtype != DType.I32) throw new IllegalStateException(name + " is " + dtype + ", not I32");
        int[] out = new int[(int) elementCount()];
        for (int i = 0; i < out.length; i++) out[i] = data.get(INT, i * 4L);
        return out;
    }
}
