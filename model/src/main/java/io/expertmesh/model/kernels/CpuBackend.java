package io.expertmesh.model.kernels;

import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.weights.WeightMatrix;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Vector API kernels on a fixed pool of platform threads. Matrix products split the weight rows
 * into tasks: with few activation rows (decode) each task streams its BF16 or block-quantized rows
 * once from memory, widening or dequantizing in registers; with many (prefill) each task widens a
 * tile of rows into a per-thread scratch buffer that stays in L2 and runs a register-blocked kernel
 * (four weight rows by six activation rows, by four with narrower vectors) over all activation rows. BF16, F16 and F32 weights are dotted with activations permuted
 * into {@link VectorMath#permute}'s order, quantized ones with the activations as they are
 * ({@link QuantizedMath}). Where {@link CpuKernels} says so, the quantized decode products, the
 * tiles (dequantization and product, over activation rows copied to cache-line-aligned memory) and
 * attention run in C instead ({@link NativeKernels}), with the Java kernels' results bit for bit
 * except for the decode products' rounding.
 */
public final class CpuBackend implements KernelBackend {
    /** Activation rows up to which weights are streamed rather than tiled. */
    private static final int STREAM_MAX_ROWS = 4;
    /**
     * Bounds of a streaming task's weight bytes. Bigger tasks stream faster (each task start makes the
     * hardware prefetchers find eight new row streams), but each thread needs several tasks so the
     * last ones even out across cores.
     */
    private static final long MIN_STREAM_TASK_BYTES = 256 * 1024;
    private static final long MAX_STREAM_TASK_BYTES = 4 * 1024 * 1024;
    private static final int STREAM_TASKS_PER_THREAD = 8;
    private static final long TILE_BYTES = 384 * 1024;
    /**
     * Native tiles of quantized rows wider than this are walked in column blocks of this many columns,
     * so that a tile keeps at least 32 rows: with whole rows of the 12288-column dense down projection a
     * tile held 4, each pass over the activations served only those, and the product ran at half the
     * speed (one-thread C harness on the Xeon machine, 512 activation rows: 47 vs 100 GFLOP/s).
     */
    private static final int NATIVE_TILE_COLS = 3072;
    private static final int ELEMENTWISE_TASK = 16 * 1024;
    private static final long CACHE_LINE = 64;

    private final ParallelRunner runner;
    private final CpuKernels kernels;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    /**
     * A thread's buffers for widened weight tiles. The tile lives off the heap, aligned to a cache
     * line, so that no vector load of the tiled product straddles two lines: a Java array starts
     * wherever the allocator put it, and aligning the tile made prefill 5–9% faster on the Intel
     * machine (docs/performance.md).
     */
    private static final class Scratch {
        MemorySegment tile = MemorySegment.NULL;
        float[] row = new float[0];
        float[] permuted = new float[0];
        float[] acc = new float[0];
        float[] scores = new float[0];
        final float[] lanes = new float[4 * VectorMath.LANES];

        void ensure(int tileRows, int tileCols, int cols, long accFloats) {
            long bytes = 4L * tileRows * tileCols;
            if (tile.byteSize() < bytes) tile = Arena.ofAuto().allocate(bytes, CACHE_LINE);
            if (row.length < cols) {
                row = new float[cols];
                permuted = new float[cols];
            }
            if (acc.length < accFloats) acc = new float[Math.toIntExact(accFloats)];
        }
    }

    /** A backend with the kernels {@link CpuKernels#configured()} chooses. */
    public CpuBackend(int threads) {
        this(threads, CpuKernels.configured());
    }

    public CpuBackend(int threads, CpuKernels kernels) {
        if (kernels == CpuKernels.NATIVE && NativeKernels.UNAVAILABLE != null) {
            throw new IllegalArgumentException("the native CPU kernels cannot run here: " + NativeKernels.UNAVAILABLE);
        }
        this.runner = new ParallelRunner(threads);
        this.kernels = kernels;
    }

    @Override
    public String name() {
        return kernels == CpuKernels.NATIVE ? "cpu (native kernels)" : "cpu";
    }

    @Override
    public int threads() {
        return runner.threads();
    }

    @Override
    public void matmul(List<MatMul> products) {
        Map<FloatMatrix, FloatMatrix> permuted = new IdentityHashMap<>();
        for (MatMul m : products) if (permutes(m)) permuted.computeIfAbsent(m.x(), this::permuted);
        if (products.stream().noneMatch(this::tilesInC)) {
            run(products, permuted, Map.of());
            return;
        }
        try (Arena arena = Arena.ofShared()) {
            Map<FloatMatrix, AlignedRows> aligned = new IdentityHashMap<>();
            for (MatMul m : products) if (tilesInC(m)) aligned.computeIfAbsent(input(m, permuted), x -> AlignedRows.allocate(x, arena));
            List<Map.Entry<FloatMatrix, AlignedRows>> copies = List.copyOf(aligned.entrySet());
            runner.run(copies.size(), i -> copies.get(i).getValue().fill(copies.get(i).getKey()));
            run(products, permuted, aligned);
        }
    }

    private void run(List<MatMul> products, Map<FloatMatrix, FloatMatrix> permuted, Map<FloatMatrix, AlignedRows> aligned) {
        int count = products.size();
        long streamed = 0;
        for (MatMul m : products) if (streams(m, kernels)) streamed += m.linear().weight().byteSize();
        long taskBytes = Math.clamp(streamed / ((long) runner.threads() * STREAM_TASKS_PER_THREAD), MIN_STREAM_TASK_BYTES,
                MAX_STREAM_TASK_BYTES);
        int[] firstTask = new int[count + 1];
        int[] rowsPerTask = new int[count];
        for (int p = 0; p < count; p++) {
            MatMul m = products.get(p);
            WeightMatrix w = m.linear().weight();
            rowsPerTask[p] = streams(m, kernels) ? streamRows(w, taskBytes) : tileRows(tileCols(w));
            firstTask[p + 1] = firstTask[p] + (w.rows() + rowsPerTask[p] - 1) / rowsPerTask[p];
        }
        runner.run(firstTask[count], task -> {
            int p = ownerOf(firstTask, task);
            MatMul m = products.get(p);
            FloatMatrix xp = input(m, permuted);
            int r0 = (task - firstTask[p]) * rowsPerTask[p];
            int r1 = Math.min(m.linear().outFeatures(), r0 + rowsPerTask[p]);
            if (streams(m, kernels)) streamRows(m.linear().weight(), xp, m.out(), r0, r1);
            else tiledRows(m.linear().weight(), xp, aligned.get(xp), m.out(), r0, r1);
            addBias(m, r0, r1);
        });
    }

    /** The activations a product's kernels read: permuted for BF16, F16 and F32 weights. */
    private static FloatMatrix input(MatMul m, Map<FloatMatrix, FloatMatrix> permuted) {
        return permutes(m) ? permuted.get(m.x()) : m.x();
    }

    /**
     * Whether the product runs on tiles multiplied in C: the C tile kernel is the Java one for 16 lanes,
     * bit for bit; with other vector widths the Java order differs, so the Java kernel keeps the product.
     */
    private boolean tilesInC(MatMul m) {
        return !streams(m, kernels) && kernels == CpuKernels.NATIVE && VectorMath.LANES == 16;
    }

    private static boolean permutes(MatMul m) {
        return !m.linear().weight().dtype().isQuantized();
    }

    /** Few activation rows stream the weights: BF16 always, quantized types with the native kernels or where byte vectors of {@code LANES} lanes exist. */
    private static boolean streams(MatMul m, CpuKernels kernels) {
        DType t = m.linear().weight().dtype();
        return m.x().rows() <= STREAM_MAX_ROWS
                && (t == DType.BF16 || (t.isQuantized() && (kernels == CpuKernels.NATIVE || QuantizedMath.STREAMS)));
    }

    private static int streamRows(WeightMatrix w, long taskBytes) {
        return (int) Math.max(8, (taskBytes / w.rowBytes() + 7) / 8 * 8);
    }

    private static int tileRows(int cols) {
        return Math.clamp(TILE_BYTES / (4L * cols) / 4 * 4, 4, 64);
    }

    /** Columns of a tile: whole rows, except for native tiles of quantized rows wider than {@link #NATIVE_TILE_COLS}. */
    private int tileCols(WeightMatrix w) {
        return nativeTiles(w) ? Math.min(w.cols(), NATIVE_TILE_COLS) : w.cols();
    }

    /** Whether the C kernels dequantize this matrix's tiles (and multiply them: {@link #tilesInC}). */
    private boolean nativeTiles(WeightMatrix w) {
        return kernels == CpuKernels.NATIVE && w.dtype().isQuantized() && VectorMath.LANES == 16;
    }

    /** The i with firstTask[i] ≤ task < firstTask[i + 1]: the product, or pair, a task works on. */
    private static int ownerOf(int[] firstTask, int task) {
        int lo = 0, hi = firstTask.length - 2;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (firstTask[mid] <= task) lo = mid;
            else hi = mid - 1;
        }
        return lo;
    }

    /** The activation rows in the contraction order of {@link VectorMath#permute}. */
    private FloatMatrix permuted(FloatMatrix x) {
        FloatMatrix xp = FloatMatrix.zeros(x.rows(), x.cols());
        runner.run(x.rows(), r -> VectorMath.permute(x.data(), r * x.cols(), x.cols(), xp.data(), r * x.cols()));
        return xp;
    }

    private void streamRows(WeightMatrix w, FloatMatrix xp, FloatMatrix out, int r0, int r1) {
        if (w.dtype().isQuantized()) {
            if (kernels == CpuKernels.NATIVE) NativeKernels.quantizedRows(w, r0, r1, xp, out);
            else QuantizedMath.rows(w, r0, r1, xp, out);
            return;
        }
        for (int t = 0; t < xp.rows(); t++) {
            VectorMath.bf16Rows(w, r0, r1, xp.data(), t * xp.cols(), out.data(), t * out.cols());
        }
    }

    /** {@code aligned}: the activation rows copied for the C tile kernel, or null where the Java one multiplies. */
    private void tiledRows(WeightMatrix w, FloatMatrix xp, AlignedRows aligned, FloatMatrix out, int r0, int r1) {
        int rows = r1 - r0;
        int cols = w.cols();
        int tileCols = tileCols(w);
        Scratch s = scratch.get();
        boolean whole = tileCols == cols;
        s.ensure(rows, tileCols, cols, whole ? VectorMath.accumulatorFloats(rows) : NativeKernels.blockAccumulatorFloats(rows, xp.rows()));
        if (nativeTiles(w)) {
            for (int k0 = 0; k0 < cols; k0 += tileCols) {
                int blockCols = Math.min(tileCols, cols - k0);
                NativeKernels.dequantizeRows(w, r0, rows, k0, blockCols, s.tile);
                NativeKernels.tileRows(s.tile, rows, blockCols, k0, r0, aligned, out, s.acc);
            }
            return;
        }
        VectorMath.widenRows(w, r0, rows, s.tile, s.row, s.permuted);
        if (aligned != null) NativeKernels.tileRows(s.tile, rows, cols, 0, r0, aligned, out, s.acc);
        else VectorMath.tileRows(s.tile, rows, cols, r0, xp, out, s.acc);
    }

    private static void addBias(MatMul m, int r0, int r1) {
        float[] bias = m.linear().bias();
        if (bias == null) return;
        float[] out = m.out().data();
        int oc = m.out().cols();
        for (int t = 0; t < m.x().rows(); t++) {
            for (int r = r0; r < r1; r++) out[t * oc + r] += bias[r];
        }
    }

    @Override
    public void rmsNorm(FloatMatrix x, float[] weight, float eps, FloatMatrix out) {
        int cols = x.cols();
        runner.run(x.rows(), r -> {
            float[] xd = x.data();
            float[] od = out.data();
            int off = r * cols;
            float variance = VectorMath.dot(xd, off, xd, off, cols) / cols;
            float scale = (float) (1.0 / Math.sqrt(variance + eps));
            for (int c = 0; c < cols; c++) od[off + c] = weight[c] * (xd[off + c] * scale);
        });
    }

    @Override
    public void attention(CausalAttention a) {
        Scratch s = scratch.get();
        long floats = kernels == CpuKernels.NATIVE ? NativeKernels.attentionScoreFloats(a) : a.positions();
        if (s.scores.length < floats) s.scores = new float[Math.toIntExact(floats)];
        if (kernels == CpuKernels.NATIVE) NativeKernels.attention(a, s.scores);
        else VectorMath.causalAttention(a, s.scores, s.lanes);
    }

    @Override
    public void swiglu(List<FloatMatrix> gates, List<FloatMatrix> ups) {
        int count = gates.size();
        int[] firstTask = new int[count + 1];
        for (int i = 0; i < count; i++) {
            FloatMatrix g = gates.get(i), u = ups.get(i);
            if (g.rows() != u.rows() || g.cols() != u.cols()) {
                throw new IllegalArgumentException("swiglu of [" + g.rows() + ", " + g.cols() + "] and [" + u.rows() + ", " + u.cols() + "]");
            }
            firstTask[i + 1] = firstTask[i] + (g.rows() * g.cols() + ELEMENTWISE_TASK - 1) / ELEMENTWISE_TASK;
        }
        runner.run(firstTask[count], task -> {
            int i = ownerOf(firstTask, task);
            FloatMatrix g = gates.get(i);
            int from = (task - firstTask[i]) * ELEMENTWISE_TASK;
            VectorMath.swiglu(g.data(), ups.get(i).data(), from, Math.min(g.rows() * g.cols(), from + ELEMENTWISE_TASK));
        });
    }

    @Override
    public void parallelFor(int tasks, IntConsumer body) {
        runner.run(tasks, body);
    }

    @Override
    public void close() {
        runner.close();
    }
}
