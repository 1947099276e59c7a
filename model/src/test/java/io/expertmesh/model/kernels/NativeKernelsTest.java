package io.expertmesh.model.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The C kernels ({@link NativeKernels}): built and loaded where they can run, and the same tile products as the Java ones. */
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
                    NativeKernels.tileRows(tile, tileRows, cols, r0, x, c, new float[VectorMath.accumulatorFloats(tileRows)]);
                    for (int i = 0; i < java.data().length; i++) {
                        int t = i / outCols, r = i % outCols;
                        assertEquals(Float.floatToRawIntBits(java.data()[i]), Float.floatToRawIntBits(c.data()[i]),
                                "tile " + tileRows + " x " + cols + ", " + n + " activation rows: row " + t + ", column " + r + ": " + java.data()[i] + " vs " + c.data()[i]);
                    }
                }
            }
        }
    }

    @Test
    void aTileThatDoesNotFitItsOutputIsRefusedBeforeTheCall() {
        assumeTrue(nativeKernelsExpected(), "this CPU cannot run the AVX-512 kernels");
        MemorySegment tile = Arena.ofAuto().allocate(4L * 4 * 32, 64);
        FloatMatrix x = FloatMatrix.zeros(2, 32);
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.tileRows(tile, 4, 32, 1, x, FloatMatrix.zeros(2, 4), new float[384]));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.tileRows(tile, 5, 32, 0, x, FloatMatrix.zeros(2, 8), new float[768]));
        assertThrows(IllegalArgumentException.class, () -> NativeKernels.tileRows(tile, 4, 32, 0, x, FloatMatrix.zeros(2, 4), new float[100]));
    }
}
