package io.expertmesh.model.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.expertmesh.model.safetensors.DType;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Dequantization against gguf-py's {@code gguf.quants.dequantize}, bit for bit (fixtures from make_fixture.py). */
class QuantizedBlocksTest {
    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void dequantizeEqualsGgufPyBitForBit(DType type) {
        MemorySegment blocks = QuantFixture.blocks(type);
        float[] expected = QuantFixture.floats(type, "dequantized");
        float[] actual = new float[expected.length];
        QuantizedBlocks.dequantize(type, blocks, 0, expected.length, actual, 0);
        int i = QuantFixture.firstMismatch(expected, actual);
        assertEquals(-1, i, () -> type + " weight " + i + " (block " + i / type.blockElements() + "): expected "
                + expected[i] + " (0x" + Integer.toHexString(Float.floatToRawIntBits(expected[i])) + "), got " + actual[i]
                + " (0x" + Integer.toHexString(Float.floatToRawIntBits(actual[i])) + ")");
    }

    /** The fixture's blocks viewed as a matrix of three blocks per row and read back row by row. */
    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void readRowOfAQuantizedMatrixEqualsGgufPyDequantize(DType type) {
        MemorySegment blocks = QuantFixture.blocks(type);
        float[] expected = QuantFixture.floats(type, "dequantized");
        int cols = 3 * type.blockElements();
        int rows = expected.length / cols;
        var w = new WeightMatrix("fixture", type, rows, cols, blocks);
        float[] row = new float[cols + 5];
        float[] want = new float[cols];
        for (int r = 0; r < rows; r++) {
            w.readRow(r, row, 5);
            System.arraycopy(expected, r * cols, want, 0, cols);
            float[] got = Arrays.copyOfRange(row, 5, 5 + cols);
            int row0 = r;
            int i = QuantFixture.firstMismatch(want, got);
            assertEquals(-1, i, () -> type + " row " + row0 + " column " + i + ": expected " + want[i] + ", got " + got[i]);
        }
    }
}
