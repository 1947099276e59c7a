package io.expertmesh.model.kernels;

/** Row-major fp32 activations [rows, cols]; row r starts at {@code r * cols}. */
public record FloatMatrix(int rows, int cols, float[] data) {
    public FloatMatrix {
        if ((long) rows * cols > data.length) {
            throw new IllegalArgumentException("matrix [" + rows + ", " + cols + "] needs more than " + data.length + " floats");
        }
    }

    public static FloatMatrix zeros(int rows, int cols) {
        return new FloatMatrix(rows, cols, new float[Math.multiplyExact(rows, cols)]);
    }

    public int offset(int row) {
        return row * cols;
    }

    public float get(int row, int col) {
        return data[row * cols + col];
    }

    public float[] row(int r) {
        float[] out = new float[cols];
        System.arraycopy(data, r * cols, out, 0, cols);
        return out;
    }

    public void copyRowFrom(int dstRow, FloatMatrix src, int srcRow) {
        System.arraycopy(src.data, srcRow * src.cols, data, dstRow * cols, cols);
    }
}
