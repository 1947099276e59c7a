package io.expertmesh.model.kernels;

/**
 * Causal attention of {@code rows} query rows at positions {@code firstPosition}, firstPosition + 1, …
 * for {@code heads} consecutive query heads that read one KV head. Query head g of row i is
 * {@code q[qOffset + i·qStride + g·headDim ..+headDim)}, and its output goes to the same place in
 * {@code out}; {@code keys} and {@code values} hold positions [0, firstPosition + rows) of the KV head,
 * {@code headDim} floats each, one after another. Row i attends to positions [0, firstPosition + i]:
 * scores are the canonical dot products ({@link VectorMath#dot}) times {@code scale}, softmaxed in fp32,
 * and the output is the scores' weighted sum of the values, position by position.
 */
public record CausalAttention(float[] q, int qOffset, int qStride, int rows, int heads, int headDim, int firstPosition, float[] keys,
                              float[] values, float scale, float[] out, int outOffset, int outStride) {
    public CausalAttention {
        long positions = (long) firstPosition + rows;
        long lastQuery = (long) qOffset + (long) (rows - 1) * qStride + (long) heads * headDim;
        long lastOut = (long) outOffset + (long) (rows - 1) * outStride + (long) heads * headDim;
        if (rows < 1 || heads < 1 || headDim < 1 || firstPosition < 0 || qOffset < 0 || outOffset < 0 || qStride < heads * headDim
                || outStride < heads * headDim || lastQuery > q.length || lastOut > out.length || positions * headDim > keys.length
                || positions * headDim > values.length) {
            throw new IllegalArgumentException("attention of " + rows + " rows x " + heads + " heads of " + headDim + " from position "
                    + firstPosition + " does not fit its arrays");
        }
    }

    /** Positions the last row attends to. */
    public int positions() {
        return firstPosition + rows;
    }
}
