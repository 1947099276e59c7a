package io.expertmesh.model.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Activation rows off the heap for the C tile kernel: each row starts on a cache line, every
 * {@code stride} floats. A Java array starts wherever the allocator put it, and with rows that do not
 * start on a line, every vector load of the tile kernel straddles two (NativeKernels#tileRows).
 */
record AlignedRows(MemorySegment data, int rows, int cols, int stride) {
    private static final int LINE_FLOATS = 16;

    AlignedRows {
        if (rows < 0 || cols < 0 || stride < cols || data.byteSize() < 4L * rows * stride || data.address() % (4 * LINE_FLOATS) != 0) {
            throw new IllegalArgumentException("rows [" + rows + ", " + cols + "] every " + stride + " floats in " + data.byteSize()
                    + " bytes at " + data.address());
        }
    }

    /** Room in {@code arena} for the rows of {@code m}, not yet filled ({@link #fill}). */
    static AlignedRows allocate(FloatMatrix m, Arena arena) {
        int stride = (m.cols() + LINE_FLOATS - 1) / LINE_FLOATS * LINE_FLOATS;
        return new AlignedRows(arena.allocate(4L * m.rows() * stride, 4 * LINE_FLOATS), m.rows(), m.cols(), stride);
    }

    /** Copies the rows of {@code m} in. */
    void fill(FloatMatrix m) {
        for (int r = 0; r < rows; r++) MemorySegment.copy(m.data(), r * m.cols(), data, ValueLayout.JAVA_FLOAT, 4L * r * stride, m.cols());
    }
}
