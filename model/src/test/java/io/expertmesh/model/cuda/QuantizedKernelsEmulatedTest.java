package io.expertmesh.model.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.weights.Quantize;
import io.expertmesh.model.weights.QuantizedBlocks;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The Q8_0, Q4_K and Q6_K kernels of ernie.cu in the emulator against the reference dequantization
 * ({@link QuantizedBlocks}) times the activations in double, on random blocks with zero, huge,
 * subnormal and negative scales. The weights are the reference's exactly, so the only difference is
 * fp32 accumulation: each output may be off by {@link #RELATIVE} of Σ|w·x| over its row.
 */
class QuantizedKernelsEmulatedTest {
    private static final double RELATIVE = 0x1p-17;
    /** 40 groups of 32 per row: more than a warp's 32 lanes, and whole Q4_K / Q6_K super-blocks. */
    private static final int COLS = 1280;
    private static final int ROWS = 37;
    /** Scales (f16 bits) written over the first blocks: zero, the largest half, the smallest subnormal, -1. */
    private static final short[] EXTREME_SCALES = {0, 0x7bff, 0x0001, (short) 0xbc00};

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_K", "Q6_K"})
    void linearEqualsTheDequantizedProductForDecodeAndPrefillRowCounts(DType type) {
        MemorySegment blocks = randomBlocks(type, ROWS, COLS, 1);
        double[][] w = dequantized(type, blocks, ROWS, COLS);
        try (var gpu = EmulatedGpu.open()) {
            DevicePointer weights = upload(gpu, blocks);
            for (int tokens : new int[] {1, 3, 11}) {
                float[] x = randomFloats(tokens * COLS, 2 + tokens);
                DevicePointer xs = gpu.allocate(4L * x.length), y = gpu.allocate(4L * tokens * ROWS);
                gpu.copyIn(xs, x, x.length);
                gpu.launch("linear" + suffix(type), (ROWS + 7) / 8, 1, 256, 0, weights, xs, DevicePointer.NULL, y,
                        ROWS, COLS, tokens, ROWS);
                float[] out = new float[tokens * ROWS];
                gpu.copyOut(out, y, out.length);
                for (int t = 0; t < tokens; t++) {
                    for (int r = 0; r < ROWS; r++) assertClose(w[r], x, t * COLS, out[t * ROWS + r], type + " " + tokens + " tokens, row " + r + " token " + t);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_K", "Q6_K"})
    void embeddingRowsAreTheDequantizedRowsExactly(DType type) {
        MemorySegment blocks = randomBlocks(type, ROWS, COLS, 3);
        double[][] w = dequantized(type, blocks, ROWS, COLS);
        try (var gpu = EmulatedGpu.open()) {
            int[] ids = {5, 0, 36, 5};
            DevicePointer table = upload(gpu, blocks), idsOnGpu = gpu.allocate(4L * ids.length), out = gpu.allocate(4L * ids.length * COLS);
            gpu.copyIn(idsOnGpu, ids, ids.length);
            gpu.launch("embed_rows" + suffix(type), ids.length, 1, 256, 0, table, idsOnGpu, out, COLS);
            float[] rows = new float[ids.length * COLS];
            gpu.copyOut(rows, out, rows.length);
            for (int i = 0; i < ids.length; i++) {
                for (int c = 0; c < COLS; c++) assertEquals((float) w[ids[i]][c], rows[i * COLS + c], type + " token " + i + " column " + c);
            }
        }
    }

    /**
     * The routed-expert kernels on one expert (id 1 of 2; expert 0 has no slots) over 11 slots, two
     * passes of a warp's 8: gate/up with SiLU, then down, each against the double reference.
     */
    @ParameterizedTest
    @EnumSource(names = {"Q8_0", "Q4_K", "Q6_K"})
    void expertKernelsEqualTheDequantizedExpert(DType type) {
        int dim = 512, inter = 256, slots = 11, experts = 2;
        MemorySegment gate = randomBlocks(type, inter, dim, 4), up = randomBlocks(type, inter, dim, 5), down = randomBlocks(type, dim, inter, 6);
        double[][] g = dequantized(type, gate, inter, dim), u = dequantized(type, up, inter, dim), dn = dequantized(type, down, dim, inter);
        float[] x = randomFloats(slots * dim, 7);
        int[] slotToken = new int[slots];
        for (int s = 0; s < slots; s++) slotToken[s] = slots - 1 - s;
        String suffix = suffix(type);
        try (var gpu = EmulatedGpu.open()) {
            DevicePointer gateTable = RoutedExpertLaunches.uploadTable(gpu, new long[] {0, upload(gpu, gate).address()});
            DevicePointer upTable = RoutedExpertLaunches.uploadTable(gpu, new long[] {0, upload(gpu, up).address()});
            DevicePointer downTable = RoutedExpertLaunches.uploadTable(gpu, new long[] {0, upload(gpu, down).address()});
            DevicePointer xs = gpu.allocate(4L * x.length), start = gpu.allocate(4L * (experts + 1)), active = gpu.allocate(4L * (experts + 1));
            DevicePointer tokenOf = gpu.allocate(4L * slots), h = gpu.allocate(4L * slots * inter), y = gpu.allocate(4L * slots * dim);
            gpu.copyIn(xs, x, x.length);
            gpu.copyIn(start, new int[] {0, 0, slots}, experts + 1);
            gpu.copyIn(active, new int[] {1, 0, 1}, experts + 1);
            gpu.copyIn(tokenOf, slotToken, slots);
            gpu.launch("experts_gate_up" + suffix, inter / 8, experts, 256, 0, gateTable, upTable, xs, start, active, tokenOf, h, inter, dim, experts);
            float[] hidden = new float[slots * inter];
            gpu.copyOut(hidden, h, hidden.length);
            for (int s = 0; s < slots; s++) {
                for (int r = 0; r < inter; r++) {
                    double a = dot(g[r], x, slotToken[s] * dim), b = dot(u[r], x, slotToken[s] * dim);
                    double expected = a / (1 + Math.exp(-a)) * b;
                    double scale = (magnitude(g[r], x, slotToken[s] * dim) + Math.abs(a)) * (magnitude(u[r], x, slotToken[s] * dim) + Math.abs(b));
                    assertEquals(expected, hidden[s * inter + r], 4 * RELATIVE * scale + 1e-30, type + " gate/up slot " + s + " row " + r);
                }
            }
            gpu.launch("experts_down" + suffix, dim / 8, experts, 256, 0, downTable, h, start, active, y, dim, inter, experts);
            float[] out = new float[slots * dim];
            gpu.copyOut(out, y, out.length);
            for (int s = 0; s < slots; s++) {
                for (int r = 0; r < dim; r++) assertClose(dn[r], hidden, s * inter, out[s * dim + r], type + " down slot " + s + " row " + r);
            }
        }
    }

    /** The kernel name suffix of a block type: "_q8_0", "_q4_k", "_q6_k". */
    private static String suffix(DType type) {
        return "_" + type.name().toLowerCase(java.util.Locale.ROOT);
    }

    /** Quantized Gaussian rows (magnitudes 1e-3 to 10 by block), then the first blocks' scales overwritten with {@link #EXTREME_SCALES}. */
    private static MemorySegment randomBlocks(DType type, int rows, int cols, long seed) {
        var random = new SplittableRandom(seed);
        MemorySegment blocks = Arena.ofAuto().allocate(rows * type.byteSize(cols), 16);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) row[c] = (float) (random.nextGaussian() * Math.pow(10, (c / 32 + r) % 5 - 3));
            Quantize.row(type, row, 0, cols, blocks, r * type.byteSize(cols));
        }
        for (int b = 0; b < EXTREME_SCALES.length; b++) {
            long at = (long) b * type.blockBytes();
            blocks.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + (type == DType.Q6_K ? QuantizedBlocks.Q6_K_D : 0), EXTREME_SCALES[b]);
            // Q4_K's second half is dmin: extreme there too, in another order.
            if (type == DType.Q4_K) blocks.set(ValueLayout.JAVA_SHORT_UNALIGNED, at + 2, EXTREME_SCALES[(b + 1) % EXTREME_SCALES.length]);
            // Q6_K's sub-block scales are signed bytes: their extremes in the block with the ordinary d (-1).
            if (type == DType.Q6_K && b == 3) {
                blocks.set(ValueLayout.JAVA_BYTE, at + QuantizedBlocks.Q6_K_SCALES, (byte) -128);
                blocks.set(ValueLayout.JAVA_BYTE, at + QuantizedBlocks.Q6_K_SCALES + 1, (byte) 127);
            }
        }
        return blocks;
    }

    private static double[][] dequantized(DType type, MemorySegment blocks, int rows, int cols) {
        double[][] w = new double[rows][cols];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            QuantizedBlocks.dequantize(type, blocks, r * type.byteSize(cols), cols, row, 0);
            for (int c = 0; c < cols; c++) w[r][c] = row[c];
        }
        return w;
    }

    private static DevicePointer upload(Gpu gpu, MemorySegment blocks) {
        DevicePointer p = gpu.allocate(blocks.byteSize());
        gpu.copyIn(p, blocks);
        return p;
    }

    private static float[] randomFloats(int n, long seed) {
        var random = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) random.nextGaussian();
        return x;
    }

    private static double dot(double[] w, float[] x, int from) {
        double s = 0;
        for (int c = 0; c < w.length; c++) s += w[c] * x[from + c];
        return s;
    }

    private static double magnitude(double[] w, float[] x, int from) {
        double s = 0;
        for (int c = 0; c < w.length; c++) s += Math.abs(w[c] * x[from + c]);
        return s;
    }

    private static void assertClose(double[] w, float[] x, int from, float actual, String what) {
        double expected = dot(w, x, from), tolerance = RELATIVE * magnitude(w, x, from) + 1e-30;
        assertTrue(Math.abs(actual - expected) <= tolerance, what + ": " + actual + " vs " + expected + " (tolerance " + tolerance + ")");
    }
}
