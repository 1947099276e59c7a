package io.expertmesh.model.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.weights.QuantFixture;
import io.expertmesh.model.weights.Quantize;
import io.expertmesh.model.weights.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The C kernels ({@link NativeKernels}): built and loaded where they can run, and the same tiles and tile products as the Java ones. */
class NativeKernelsTest {
    /** Whether this machine can run the C kernels, from /proc/cpuinfo rather than from the library itself. */
    static boolean nativeKernelsExpected() {
        if (!System.getProperty("os.name").equals("Linux") || !System.getProperty("os.arch").equals("amd64")) return false;
        try {
            String flags = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("flags")).findFirst().orElse("");
            Set<String> have = Set.of(flags.substring(flags.indexOf(':') + 1).trim().split("\\s+"));
            return have.containsAll(Set.of("avx512f", "avx512bw", "avx512vl", "f16c", "fma"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The rows of {@code x} as the C tile kernel reads them. */
    static AlignedRows aligned(FloatMatrix x) {
        AlignedRows rows = AlignedRows.allocate(x, Arena.ofAuto());
        rows.fill(x);
        return rows;
    }

    /** The Java kernels everywhere; the C ones too where this machine can run them. */
    static List<CpuKernels> kernelsOfThisMachine() {
        return nativeKernelsExpected() ? List.of(CpuKernels.JAVA, CpuKernels.NATIVE) : List.of(CpuKernels.JAVA);
    }

    /** The build makes the C kernels wherever they can run (a C compiler is part of the build's requirements): a lost library fails here, not silently slower. */
    @Test
    void nativeKernelsLoadWhereTheCpuCanRunThem() {
        assumeTrue(nativeKernelsExpected(), "this CPU cannot run the AVX-512 kernels");
        assertNull(CpuKernels.nativeUnavailable());
        assertEquals(CpuKernels.NATIVE, CpuKernels.configured());
    }

    /**
     * Tiles of 1 to 9 rows (whole and partial quads), contractions with and without a tail past the
     * last 32 columns and over several 512-column chunks, 1 to 13 activation rows (whole and partial
     * passes of six): every product equals the Java kernel's bit for bit.
     */
    @Test
    void tileProductsEqualTheJavaKernelsBitForBit() {
        assumeTrue(nativeKernelsExpected(), "this CPU cannot run the AVX-512 kernels");
        assumeTrue(VectorMath.LANES == 16, "the C tile kernel is the Java one for 16 lanes; this JVM's vectors have " + VectorMath.LANES);
        var random = new SplittableRandom(3);
        for (int cols : new int[] {16, 48, 544, 1040, 2560}) {
            for (int tileRows = 1; tileRows <= 9; tileRows++) {
                MemorySegment tile = Arena.ofAuto().allocate(4L * tileRows * cols, 64);
                for (long i = 0; i < (long) tileRows * cols; i++) tile.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian());
                for (int n : new int[] {1, 4, 6, 7, 13}) {
                    FloatMatrix x = FloatMatrix.zeros(n, cols);
                    for (int i = 0; i < x.data().length; i++) x.data()[i] = (float) random.nextGaussian();
                    int r0 = 2, outCols = tileRows + 5;
                    FloatMatrix java = FloatMatrix.zeros(n, outCols), c = FloatMatrix.zeros(n, outCols);
                    VectorMath.tileRows(tile, tileRows, cols, r0, x, java, new float[VectorMath.accumulatorFloats(tileRows)]);
                    NativeKernels.tileRows(tile, tileRows, cols, 0, r0, aligned(x), c, new float[VectorMath.accumulatorFloats(tileRows)]);
                    for (int i = 0; i < java.data().length; i++) {
                        int t = i / outCols, r = i % outCols;
                        assertEquals(Float.floatToRawIntBits(java.data()[i]), Float.floatToRawIntBits(c.data()[i]),
                                "tile " + tileRows + " x " + cols + ", " + n + " activation rows: row " + t + ", column " + r + ": " + java.data()[i] + " vs " + c.data()[i]);
                    }
                }
            }
        }
    }

    /**
     * A tile walked in column blocks (blocks of 32 to 1024 columns, the last one shorter, with a tail
     * past the last 32 columns or without), its lanes carried between the calls: every product equals
     * the Java kernel's over whole rows bit for bit, for 1 to 13 activation rows.
     */
    @Test
    void tileProductsWalkedInColumnBlocksEqualWholeRowsBitForBit() {
        assumeTrue(nativeKernelsExpected(), "this CPU cannot run the AVX-512 kernels");
        assumeTrue(VectorMath.LANES == 16, "the C tile kernel is the Java one for 16 lanes; this JVM's vectors have " + VectorMath.LANES);
        var random = new SplittableRandom(4);
        for (int cols : new int[] {1040, 2560, 3100}) {
            for (int blockCols : new int[] {32, 512, 1024}) {
                int tileRows = 7;
                MemorySegment tile = Arena.ofAuto().allocate(4L * tileRows * cols, 64);
                for (long i = 0; i < (long) tileRows * cols; i++) tile.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian());
                for (int n : new int[] {1, 6, 13}) {
                    FloatMatrix x = FloatMatrix.zeros(n, cols);
                    for (int i = 0; i < x.data().length; i++) x.data()[i] = (float) random.nextGaussian();
                    int r0 = 3, outCols = tileRows + 4;
                    FloatMatrix java = FloatMatrix.zeros(n, outCols), c = FloatMatrix.zeros(n, outCols);
                    VectorMath.tileRows(tile, tileRows, cols, r0, x, java, new float[VectorMath.accumulatorFloats(tileRows)]);
                    float[] acc = new float[(int) NativeKernels.blockAccumulatorFloats(tileRows, n)];
                    MemorySegment block = Arena.ofAuto().allocate(4L * tileRows * blockCols, 64);
                    AlignedRows rows = aligned(x);
                    for (int k0 = 0; k0 < cols; k0 += blockCols) {
                        int width = Math.min(blockCols, cols - k0);
                        for (int r = 0; r < tileRows; r++) {
                            MemorySegment.copy(tile, 4L * (r * cols + k0), block, 4L * r * width, 4L * width);
                        }
                        NativeKernels.tileRows(block, tileRows, width, k0, r0, rows, c, acc);
                    }
                    for (int i = 0; i < java.data().length; i++) {
                        int t = i / outCols, r = i % outCols;
                        assertEquals(Float.floatToRawIntBits(java.data()[i]), Float.floatToRawIntBits(c.data()[i]), "blocks of " + blockCols
                                + " columns of a " + tileRows + " x " + cols + " tile, " + n + " activation rows: row " + t + ", column " + r);
                    }
                }
            }
        }
    }

    /**
     * The gguf-py fixture's blocks (random bytes, zero, -0, ±65504, subnormal and NaN scales), and
     * rows quantized from Gaussian weights, dequantized into a tile, whole rows and a block of columns
     * from the second block on: {@link WeightMatrix#readRow}'s values bit for bit (NaN where it gives NaN).
     */
    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_0", "Q4_K", "Q6_K"})
    void tileDequantizationEqualsReadRowBitForBit(DType type) {
        assumeTrue(nativeKernelsExpected(), "this CPU cannot run the AVX-512 kernels");
        MemorySegment blocks = QuantFixture.blocks(type);
        int fixtureCols = 3 * type.blockElements();
        var extreme = new WeightMatrix("fixture", type, (int) (blocks.byteSize() / type.byteSize(fixtureCols)), fixtureCols, blocks);
        int cols = 5 * type.blockElements();
        MemorySegment f32 = Arena.ofAuto().allocate(4L * 11 * cols);
        var random = new SplittableRandom(5);
        for (long i = 0; i < 11L * cols; i++) f32.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) random.nextGaussian());
        WeightMatrix gaussian = Quantize.matrix(new WeightMatrix("gaussian", DType.F32, 11, cols, f32), type, Arena.ofAuto());
        for (WeightMatrix w : List.of(extreme, gaussian)) {
            int r0 = 1, rows = w.rows() - 1;
            for (int k0 : new int[] {0, type.blockElements()}) {
                int width = k0 == 0 ? w.cols() : 2 * type.blockElements();
                MemorySegment tile = Arena.ofAuto().allocate(4L * rows * width, 64);
                NativeKernels.dequantizeRows(w, r0, rows, k0, width, tile);
                float[] row = new float[w.cols()];
                for (int r = 0; r < rows; r++) {
                    w.readRow(r0 + r, row, 0);
                    float[] expected = Arrays.copyOfRange(row, k0, k0 + width);
                    float[] actual = tile.asSlice(4L * r * width, 4L * width).toArray(ValueLayout.JAVA_FLOAT);
                    int i = QuantFixture.firstMismatch(expected, actual), at = r0 + r;
                    assertEquals(-1, i, () -> type + " " + w.name() + " row " + at + " column " + (k0 + i) + ": " + expected[i] + " vs " + actual[i]);
                }
            }
        }
    }

    @Test
    void tilesAndRowsThatDoNotFitAreRefusedBeforeTheCall() {
        assumeTrue(nativeKernelsExpected(), "this CPU cannot run the AVX-512 kernels");
        MemorySegment tile = Arena.ofAuto().allocate(4L * 4 * 32, 64);
        AlignedRows x = aligned(FloatMatrix.zeros(2, 32));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.tileRows(tile, 4, 32, 0, 1, x, FloatMatrix.zeros(2, 4), new float[384]));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.tileRows(tile, 5, 32, 0, 0, x, FloatMatrix.zeros(2, 8), new float[768]));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.tileRows(tile, 4, 32, 0, 0, x, FloatMatrix.zeros(2, 4), new float[100]));
        AlignedRows wide = aligned(FloatMatrix.zeros(2, 96));
        float[] blockAcc = new float[(int) NativeKernels.blockAccumulatorFloats(4, 2)];
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.tileRows(tile, 4, 32, 16, 0, wide, FloatMatrix.zeros(2, 4), blockAcc));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.tileRows(tile, 4, 32, 96, 0, wide, FloatMatrix.zeros(2, 4), blockAcc));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.tileRows(tile, 4, 32, 32, 0, wide, FloatMatrix.zeros(2, 4), new float[100]));
        var w = new WeightMatrix("w", DType.Q8_0, 8, 64, Arena.ofAuto().allocate(8 * 68));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.dequantizeRows(w, 4, 5, 0, 64, Arena.ofAuto().allocate(4L * 5 * 64)));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.dequantizeRows(w, 0, 5, 0, 64, tile));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.dequantizeRows(w, 0, 1, 16, 32, tile));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.dequantizeRows(w, 0, 1, 32, 64, tile));
    }
}
