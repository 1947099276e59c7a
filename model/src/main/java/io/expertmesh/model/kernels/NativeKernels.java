package io.expertmesh.model.kernels;

import io.expertmesh.model.weights.WeightMatrix;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * The CPU backend's two hottest kernels in C ({@code src/main/c/cpu_kernels.c}, built by Maven into
 * this package's resources), called through the FFM API: the decode products of block-quantized
 * weights, what {@link QuantizedMath#rows} computes up to the rounding of fp32 sums, but able to
 * prefetch; and, for prefill, the dequantization of a tile ({@link QuantizedMath#dequantizeRow}) and the
 * product over it ({@link VectorMath#tileRows}), both bit for bit.
 * Present on x86-64 Linux with AVX-512 where the build found a C compiler; {@link #UNAVAILABLE} says
 * why not otherwise.
 */
final class NativeKernels {
    private static final String LIBRARY = "linux-x86_64/libcpu_kernels.so";
    private static final MethodHandle ROWS;
    private static final MethodHandle TILE_ROWS;
    private static final MethodHandle DEQUANTIZE_ROWS;
    private static final MethodHandle ATTENTION;
    /** Why the native kernels cannot be used here, or null when they can. */
    static final String UNAVAILABLE;

    static {
        MethodHandle rows = null, tileRows = null, dequantizeRows = null, attention = null;
        String unavailable;
        try {
            SymbolLookup library = load();
            Linker linker = Linker.nativeLinker();
            MethodHandle supported = linker.downcallHandle(library.find("em_cpu_supported").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT));
            if ((int) supported.invokeExact() == 0) {
                unavailable = "this CPU lacks AVX-512 (F, BW, VL), F16C or FMA";
            } else {
                // critical: outputs, scratch and decode activations are Java arrays, passed without a copy; a call is one task's
                // rows or one tile (milliseconds at most), during which this thread holds up a garbage collection.
                rows = critical(linker, library, "em_quantized_rows", FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
                tileRows = critical(linker, library, "em_tile_rows", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
                dequantizeRows = critical(linker, library, "em_dequantize_rows", FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
                attention = critical(linker, library, "em_causal_attention", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                        ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
                unavailable = null;
            }
        } catch (Throwable e) {
            unavailable = e.getMessage() == null ? e.toString() : e.getMessage();
        }
        ROWS = rows;
        TILE_ROWS = tileRows;
        DEQUANTIZE_ROWS = dequantizeRows;
        ATTENTION = attention;
        UNAVAILABLE = unavailable;
    }

    private NativeKernels() {}

    /** A critical downcall to the library's {@code name}: Java arrays pass without a copy, and the call holds up a garbage collection. */
    private static MethodHandle critical(Linker linker, SymbolLookup library, String name, FunctionDescriptor descriptor) {
        return linker.downcallHandle(library.find(name).orElseThrow(), descriptor, Linker.Option.critical(true));
    }

    /**
     * The library from this package's resources: loaded where it lies, or, from inside a jar, from a
     * private temporary copy that is deleted once loaded (the mapping stays), so none is left behind.
     */
    private static SymbolLookup load() throws IOException, URISyntaxException {
        String platform = System.getProperty("os.name").toLowerCase(Locale.ROOT) + "-" + System.getProperty("os.arch");
        if (!platform.equals("linux-amd64")) throw new IOException("the native kernels are built for x86-64 Linux only, not " + platform);
        URL url = NativeKernels.class.getResource(LIBRARY);
        if (url == null) throw new IOException("the build made no " + LIBRARY + " (it found no C compiler)");
        if (url.getProtocol().equals("file")) return SymbolLookup.libraryLookup(Path.of(url.toURI()), Arena.global());
        Path copy = Files.createTempFile("expertmesh-cpu-kernels", ".so");
        try {
            try (InputStream in = url.openStream()) {
                Files.copy(in, copy, StandardCopyOption.REPLACE_EXISTING);
            }
            return SymbolLookup.libraryLookup(copy, Arena.global());
        } finally {
            Files.deleteIfExists(copy);
        }
    }

    /**
     * {@code out[t][r] = W[r] · x[t]} for weight rows [r0, r1) and every activation row t of {@code x}
     * (natural order), as {@link QuantizedMath#rows}. Every bound the C code relies on is checked here.
     */
    static void quantizedRows(WeightMatrix w, int r0, int r1, FloatMatrix x, FloatMatrix out) {
        int type = typeCode(w);
        if (x.cols() != w.cols() || w.cols() % w.dtype().blockElements() != 0) {
            throw new IllegalArgumentException(w.name() + ": " + x.cols() + " activations for " + w.cols() + " columns of " + w.dtype());
        }
        if (r0 < 0 || r1 > w.rows() || r1 > out.cols() || out.rows() < x.rows() || w.data().byteSize() < w.byteSize()) {
            throw new IllegalArgumentException(w.name() + ": rows [" + r0 + ", " + r1 + ") of " + w.rows() + " into [" + out.rows() + ", "
                    + out.cols() + "]");
        }
        float[] sums = new float[x.rows() * (x.cols() / 32)];
        try {
            ROWS.invokeExact(type, w.data(), w.rowBytes(), w.cols() / w.dtype().blockElements(), r0, r1, MemorySegment.ofArray(x.data()), x.rows(),
                    x.cols(), MemorySegment.ofArray(out.data()), out.cols(), MemorySegment.ofArray(sums));
        } catch (Throwable e) {
            throw new IllegalStateException("native quantized kernel failed on " + w.name(), e);
        }
    }

    /**
     * {@link VectorMath#tileRows} for 16-lane vectors, bit for bit: every activation row of {@code x}
     * times the {@code tileRows} fp32 rows of {@code tile}, into columns [r0, r0+tileRows) of {@code out}.
     * The tile holds columns [k0, k0+tileCols) of its rows: a tile of whole rows needs
     * {@link VectorMath#accumulatorFloats} floats of {@code acc} for six-row passes. Otherwise the
     * column blocks of one tile are passed in ascending k0, starting at 0, the one that ends at the
     * last column writes {@code out}, {@code acc} carries every product's lanes from block to block
     * ({@link #blockAccumulatorFloats} floats), and a block that is not the last starts and ends on
     * multiples of 32 columns.
     */
    static void tileRows(MemorySegment tile, int tileRows, int tileCols, int k0, int r0, AlignedRows x, FloatMatrix out, float[] acc) {
        int cols = x.cols();
        boolean whole = k0 == 0 && tileCols == cols;
        long accFloats = whole ? 4 * ((tileRows + 3) / 4) * 6 * 16 : blockAccumulatorFloats(tileRows, x.rows());
        boolean aligned = whole || (k0 % 32 == 0 && (k0 + tileCols == cols || tileCols % 32 == 0));
        if (tileCols <= 0 || k0 < 0 || k0 + tileCols > cols || !aligned || tile.byteSize() < 4L * tileRows * tileCols || r0 < 0
                || r0 + tileRows > out.cols() || out.rows() < x.rows() || acc.length < accFloats) {
            throw new IllegalArgumentException("tile of " + tileRows + " x " + tileCols + " at row " + r0 + ", column " + k0 + " for activations ["
                    + x.rows() + ", " + cols + "] into [" + out.rows() + ", " + out.cols() + "]");
        }
        try {
            TILE_ROWS.invokeExact(tile, tileRows, tileCols, k0, cols, r0, x.data(), x.stride(), x.rows(), MemorySegment.ofArray(out.data()),
                    out.cols(), MemorySegment.ofArray(acc));
        } catch (Throwable e) {
            throw new IllegalStateException("native tile kernel failed", e);
        }
    }

    /** Floats of {@code acc} a tile walked in column blocks needs: 16 lanes per tile row and activation row. */
    static long blockAccumulatorFloats(int tileRows, int activationRows) {
        return 16L * tileRows * activationRows;
    }

    /**
     * Columns [k0, k0+tileCols) of weight rows [r0, r0+rows) of a block-quantized matrix dequantized
     * into the first {@code rows} tile rows of {@code tileCols} floats (natural order, native byte
     * order): {@link WeightMatrix#readRow}'s values, bit for bit, as {@link QuantizedMath#dequantizeRow}
     * gives them. k0 and tileCols are whole blocks.
     */
    static void dequantizeRows(WeightMatrix w, int r0, int rows, int k0, int tileCols, MemorySegment tile) {
        int type = typeCode(w);
        int block = w.dtype().blockElements();
        if (w.cols() % block != 0 || k0 % block != 0 || tileCols % block != 0 || k0 < 0 || tileCols <= 0 || k0 + tileCols > w.cols() || r0 < 0
                || rows < 0 || r0 + rows > w.rows() || w.data().byteSize() < w.byteSize() || tile.byteSize() < 4L * rows * tileCols) {
            throw new IllegalArgumentException(w.name() + ": rows [" + r0 + ", " + (r0 + rows) + ") of " + w.rows() + ", columns [" + k0 + ", "
                    + (k0 + tileCols) + ") of " + w.cols() + " into a tile of " + tile.byteSize() + " bytes");
        }
        try {
            DEQUANTIZE_ROWS.invokeExact(type, w.data(), w.rowBytes(), k0 / block, tileCols / block, r0, rows, tile);
        } catch (Throwable e) {
            throw new IllegalStateException("native dequantization failed on " + w.name(), e);
        }
    }

    /**
     * {@link VectorMath#causalAttention} in C, bit for bit (the same operations in the same order).
     * The record has checked the arrays' bounds; {@code scores} needs {@link #attentionScoreFloats} floats.
     */
    static void attention(CausalAttention a, float[] scores) {
        if (scores.length < attentionScoreFloats(a)) {
            throw new IllegalArgumentException(scores.length + " floats of scores for " + a.rows() + " rows x " + a.heads() + " heads x "
                    + a.positions() + " positions");
        }
        try {
            ATTENTION.invokeExact(MemorySegment.ofArray(a.q()).asSlice(4L * a.qOffset()), a.qStride(), a.rows(), a.heads(), a.headDim(),
                    a.firstPosition(), MemorySegment.ofArray(a.keys()), MemorySegment.ofArray(a.values()), a.scale(),
                    MemorySegment.ofArray(a.out()).asSlice(4L * a.outOffset()), a.outStride(), MemorySegment.ofArray(scores));
        } catch (Throwable e) {
            throw new IllegalStateException("native attention kernel failed", e);
        }
    }

    /** Scratch the C attention kernel needs: a score per row, head and position, all kept until the values are weighted. */
    static long attentionScoreFloats(CausalAttention a) {
        return (long) a.rows() * a.heads() * a.positions();
    }

    /** The C code's number for a block-quantized type (cpu_kernels.c's enum). */
    private static int typeCode(WeightMatrix w) {
        return switch (w.dtype()) {
            case Q8_0 -> 0;
            case Q4_0 -> 1;
            case Q4_K -> 2;
            case Q6_K -> 3;
            default -> throw new IllegalArgumentException(w.name() + ": " + w.dtype() + " is not block-quantized");
        };
    }
}
