package io.expertmesh.model.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.weights.Linear;
import io.expertmesh.model.weights.QuantFixture;
import io.expertmesh.model.weights.Quantize;
import io.expertmesh.model.weights.QuantizedBlocks;
import io.expertmesh.model.weights.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link CpuBackend#matmul} over block-quantized weights: decode (up to four activation rows, the
 * streaming kernels) and prefill (five or more, dequantized tiles) against the fp32 product of the
 * dequantized matrix.
 */
class QuantizedMatMulTest {
    private static final int[] ACTIVATION_ROWS = {1, 3, 4, 5, 37};
    private static final Map<CpuKernels, CpuBackend> backends = new EnumMap<>(CpuKernels.class);

    @BeforeAll
    static void start() {
        for (CpuKernels k : NativeKernelsTest.kernelsOfThisMachine()) backends.put(k, new CpuBackend(2, k));
    }

    @AfterAll
    static void stop() {
        backends.values().forEach(CpuBackend::close);
    }

    private static Stream<Arguments> typesAndKernels() {
        return Stream.of(DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q6_K).flatMap(t -> NativeKernelsTest.kernelsOfThisMachine().stream().map(k -> Arguments.of(t, k)));
    }

    /** Gaussian weights of varied magnitude per row, quantized by {@link Quantize}. */
    private static WeightMatrix quantized(DType type, int rows, int cols, long seed) {
        var random = new SplittableRandom(seed);
        MemorySegment f32 = Arena.ofAuto().allocate(4L * rows * cols);
        for (long i = 0; i < (long) rows * cols; i++) {
            double magnitude = Math.pow(10, (int) (i / cols) % 4 - 2);
            f32.set(ValueLayout.JAVA_FLOAT_UNALIGNED, 4 * i, (float) (random.nextGaussian() * magnitude));
        }
        return Quantize.matrix(new WeightMatrix("w", DType.F32, rows, cols, f32), type, Arena.ofAuto());
    }

    private static FloatMatrix randomRows(int rows, int cols, long seed) {
        var random = new SplittableRandom(seed);
        FloatMatrix m = FloatMatrix.zeros(rows, cols);
        for (int i = 0; i < m.data().length; i++) m.data()[i] = (float) random.nextGaussian();
        return m;
    }

    /**
     * Several blocks per row, row counts that leave a remainder after the four-row kernels and the
     * four-row tiles, and rows of 3328 columns, which native tiles walk in two column blocks: every
     * product equals the exact (double) product of the dequantized matrix within the bound of fp32
     * summation in any order, n·2⁻²⁴·Σ(|w| + 2·|offset|)·|x| for n terms where the offset is the part
     * of a weight the decode kernels apply per block (Q4_K's dmin·min): only the rounding of the sums
     * may differ. A wrong weight, scale or activation is off by far more.
     */
    @ParameterizedTest
    @MethodSource("typesAndKernels")
    void productEqualsTheFp32ProductOfTheDequantizedMatrix(DType type, CpuKernels kernels) {
        CpuBackend backend = backends.get(kernels);
        for (int[] shape : new int[][] {{13, 3 * type.blockElements()}, {37, 5 * type.blockElements()}, {9, 3328}}) {
            int rows = shape[0], cols = shape[1];
            WeightMatrix w = quantized(type, rows, cols, rows);
            float[][] dequantized = new float[rows][cols];
            for (int r = 0; r < rows; r++) w.readRow(r, dequantized[r], 0);
            for (int n : ACTIVATION_ROWS) {
                FloatMatrix x = randomRows(n, cols, n);
                FloatMatrix out = FloatMatrix.zeros(n, rows);
                backend.matmul(List.of(new MatMul(x, new Linear(w, null), out)));
                for (int t = 0; t < n; t++) {
                    for (int r = 0; r < rows; r++) {
                        double exact = 0, magnitude = 0;
                        for (int k = 0; k < cols; k++) {
                            exact += (double) dequantized[r][k] * x.get(t, k);
                            magnitude += (Math.abs((double) dequantized[r][k]) + 2 * offset(w, r, k)) * Math.abs(x.get(t, k));
                        }
                        float got = out.get(t, r);
                        String where = kernels + " " + type + " [" + rows + "x" + cols + "], " + n + " activation rows, row " + t + " · weight row " + r;
                        assertTrue(Math.abs(got - exact) <= cols * 0x1p-24 * magnitude, where + ": " + got + " vs exact " + exact);
                    }
                }
            }
        }
    }

    /**
     * The gguf-py fixture's blocks (random bytes, zero, -0, ±65504, subnormal and NaN scales) as a
     * matrix of three blocks per row: the kernels give the exact product of the dequantized rows
     * within the fp32 summation bound on every one of them (NaN where a row holds one).
     */
    @ParameterizedTest
    @MethodSource("typesAndKernels")
    void productOverExtremeBlocksEqualsTheCanonicalDotOfTheirDequantization(DType type, CpuKernels kernels) {
        CpuBackend backend = backends.get(kernels);
        MemorySegment blocks = QuantFixture.blocks(type);
        int cols = 3 * type.blockElements();
        int rows = (int) (blocks.byteSize() / type.byteSize(cols));
        var w = new WeightMatrix("fixture", type, rows, cols, blocks);
        float[] row = new float[cols];
        for (int n : new int[] {1, 5}) {
            FloatMatrix x = randomRows(n, cols, 7);
            FloatMatrix out = FloatMatrix.zeros(n, rows);
            backend.matmul(List.of(new MatMul(x, new Linear(w, null), out)));
            for (int r = 0; r < rows; r++) {
                w.readRow(r, row, 0);
                for (int t = 0; t < n; t++) {
                    double exact = 0, magnitude = 0;
                    for (int k = 0; k < cols; k++) {
                        exact += (double) row[k] * x.get(t, k);
                        magnitude += (Math.abs((double) row[k]) + 2 * offset(w, r, k)) * Math.abs(x.get(t, k));
                    }
                    float got = out.get(t, r);
                    String where = kernels + " " + type + ", " + n + " activation rows, row " + t + " · weight row " + r + ": " + got + " vs " + exact;
                    if (Double.isNaN(exact)) assertTrue(Float.isNaN(got), where);
                    else assertTrue(Math.abs(got - exact) <= cols * 0x1p-24 * magnitude, where);
                }
            }
        }
    }

    /**
     * Both ways of unpacking Q4_K's scales and minima, one 16-lane vector per super-block or scalar
     * words (the CPU's vector width picks one, so only a direct call runs the other here), give the
     * exact product of the dequantized rows within the fp32 summation bound, on the fixture's extreme
     * blocks and on random ones.
     */
    @Test
    void bothQ4KScaleUnpackingsGiveTheProductOfTheDequantizedRow() {
        MemorySegment fixture = QuantFixture.blocks(DType.Q4_K);
        int fixtureCols = 3 * 256;
        var extreme = new WeightMatrix("fixture", DType.Q4_K, (int) (fixture.byteSize() / DType.Q4_K.byteSize(fixtureCols)), fixtureCols, fixture);
        for (WeightMatrix w : List.of(extreme, quantized(DType.Q4_K, 37, 5 * 256, 5))) {
            int cols = w.cols();
            FloatMatrix x = randomRows(1, cols, 11);
            float[] sums = QuantizedMath.superBlockSums(x);
            float[] row = new float[cols];
            for (int r = 0; r < w.rows(); r++) {
                w.readRow(r, row, 0);
                double exact = 0, magnitude = 0;
                for (int k = 0; k < cols; k++) {
                    exact += (double) row[k] * x.get(0, k);
                    magnitude += (Math.abs((double) row[k]) + 2 * offset(w, r, k)) * Math.abs(x.get(0, k));
                }
                float vector = QuantizedMath.q4_KDotVectorScales(w.data(), r * w.rowBytes(), cols / 256, x.data(), 0, sums, 0, new float[16 * (cols / 256)]);
                float scalar = QuantizedMath.q4_KDotScalarScales(w.data(), r * w.rowBytes(), cols / 256, x.data(), 0, sums, 0);
                for (float got : new float[] {vector, scalar}) {
                    String where = w.name() + " row " + r + ": vector scales " + vector + ", scalar scales " + scalar + ", exact " + exact;
                    if (Double.isNaN(exact)) assertTrue(Float.isNaN(got), where);
                    else assertTrue(Math.abs(got - exact) <= cols * 0x1p-24 * magnitude, where);
                }
            }
        }
    }

    /** The vector dequantization that fills prefill tiles gives {@link WeightMatrix#readRow}'s values, bit for bit. */
    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void vectorDequantizationEqualsReadRowOnExtremeBlocks(DType type) {
        assumeTrue(QuantizedMath.STREAMS, "the vector dequantization needs vectors of 8 lanes or more; without them tiles take readRow's values");
        MemorySegment blocks = QuantFixture.blocks(type);
        int cols = 3 * type.blockElements();
        int rows = (int) (blocks.byteSize() / type.byteSize(cols));
        var w = new WeightMatrix("fixture", type, rows, cols, blocks);
        float[] expected = new float[cols];
        MemorySegment tile = Arena.ofAuto().allocate(4L * (cols + 3), 64);
        for (int r = 0; r < rows; r++) {
            w.readRow(r, expected, 0);
            QuantizedMath.dequantizeRow(w, r, tile, 3);
            float[] actual = tile.toArray(ValueLayout.JAVA_FLOAT);
            int i = QuantFixture.firstMismatch(expected, Arrays.copyOfRange(actual, 3, 3 + cols));
            int row = r;
            assertEquals(-1, i, () -> type + " row " + row + " column " + i + ": " + expected[i] + " vs " + actual[3 + i]);
        }
    }

    /** |dmin·min| of weight k's Q4_K sub-block: the part of the weight its kernel subtracts once per sub-block; 0 for other types. */
    private static double offset(WeightMatrix w, int r, int k) {
        if (w.dtype() != DType.Q4_K) return 0;
        long block = r * w.rowBytes() + 144L * (k / 256);
        return Math.abs((double) QuantizedBlocks.half(w.data(), block + QuantizedBlocks.Q4_K_DMIN)
                * QuantizedBlocks.q4KMin(w.data(), block + QuantizedBlocks.Q4_K_SCALES, k % 256 / 32));
    }
}
