package io.expertmesh.model.cuda;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.RotaryEmbedding;
import io.expertmesh.model.engine.SequenceEngine;
import io.expertmesh.model.kernels.FloatMatrix;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The ERNIE-4.5 MoE forward pass on one GPU, top to bottom as {@code ErnieModel} does it on the CPU:
 * BF16 weights uploaded once, fp32 activations, fp32 KV cache in 16-token blocks, the router, the
 * grouping of rows by expert and every routed expert of a layer in one launch each for gate/up and
 * down, then the weighted combine in ascending expert id plus the shared expert. A step takes
 * chunks of many sequences as consecutive rows, like the CPU model.
 */
public final class GpuModel implements SequenceEngine, AutoCloseable {
    public static final int KV_BLOCK = 16;
    /** Rows the small-batch kernels serve per weight pass (MAX_TOKENS in ernie.cu). */
    private static final int SMALL_ROWS = 8;
    private static final int THREADS = 256;
    private static final int WARPS_PER_BLOCK = THREADS / 32;
    /** Threads of an attention block (ATTN_CHUNK in ernie.cu). */
    private static final int ATTENTION_CHUNK = 128;
    /** Blocks each decode row's attention is split over (split-K). */
    private static final int ATTENTION_SPLITS = 8;
    /** Choices (tokens × k) plus experts that moe_group can stage in 48 KB of shared memory. */
    private static final int MAX_GROUPED_CHOICES = 48 * 1024 / 4;

    record DeviceLinear(DevicePointer weight, DevicePointer bias, int rows, int cols) {}

    record DeviceMlp(DeviceLinear gate, DeviceLinear up, DeviceLinear down) {
        int intermediate() {
            return gate.rows();
        }
    }

    /**
     * One layer on the device: exactly one of {@code dense} and {@code router} is set. The routed
     * experts' matrices are reached through tables of device addresses, one entry per expert id.
     */
    record DeviceLayer(DevicePointer inputNorm, DevicePointer postNorm, DeviceLinear q, DeviceLinear k, DeviceLinear v,
                       DeviceLinear o, DeviceMlp dense, DevicePointer router, DevicePointer correctionBias, DeviceMlp shared,
                       RoutedExpertLaunches.ExpertTables experts, DevicePointer keys, DevicePointer values) {}

    private final Gpu device;
    private final ErnieConfig config;
    private final DevicePointer embeddings;
    private final DeviceLinear lmHead;
    private final DevicePointer finalNorm;
    private final List<DeviceLayer> layers;
    private final float[] inverseFrequencies;
    private final Deque<Integer> freeBlocks = new ArrayDeque<>();
    private final long weightBytes;
    private final int kvBlocks;
    private Scratch scratch;
    private boolean graphs = true;
    /** Rows of the step being prepared when it is a decode step (one token per sequence), else -1. */
    private int decodeRows = -1;

    private GpuModel(Gpu device, ErnieConfig config, WeightSource source, int kvTokens) {
        if (config.headDim() > 4 * ATTENTION_CHUNK || config.expertsPerToken() > 32 || config.useBias()) {
            throw new IllegalArgumentException("the CUDA path supports head_dim <= 512, moe_k <= 32 and use_bias = false; this model has "
                    + "head_dim " + config.headDim() + ", moe_k " + config.expertsPerToken() + ", use_bias " + config.useBias());
        }
        this.device = device;
        this.config = config;
        device.makeCurrent();
        int d = config.hiddenSize();
        long bytes = 0;
        embeddings = device.allocate(2L * config.vocabSize() * d);
        source.matrix(WeightSource.Part.EMBEDDINGS, -1, -1, config.vocabSize(), d, embeddings, 0);
        bytes += 2L * config.vocabSize() * d;
        int kvBlocksTotal = (kvTokens + KV_BLOCK - 1) / KV_BLOCK;
        List<DeviceLayer> built = new ArrayList<>();
        for (int l = 0; l < config.numLayers(); l++) {
            var q = linear(source, WeightSource.Part.Q, l, config.queryDim(), d);
            var k = linear(source, WeightSource.Part.K, l, config.kvDim(), d);
            var v = linear(source, WeightSource.Part.V, l, config.kvDim(), d);
            var o = linear(source, WeightSource.Part.O, l, d, config.queryDim());
            bytes += 2L * d * (2L * config.queryDim() + 2L * config.kvDim());
            DeviceMlp dense = null, shared = null;
            DevicePointer router = null, bias = null, gate = null, up = null, down = null;
            if (config.isMoeLayer(l)) {
                router = device.upload(source.vector(WeightSource.Part.ROUTER, l, config.numExperts() * d));
                bias = device.upload(source.vector(WeightSource.Part.CORRECTION_BIAS, l, config.numExperts()));
                if (config.numSharedExperts() > 0) {
                    shared = mlp(source, WeightSource.Part.SHARED_GATE, l, config.sharedIntermediateSize());
                    bytes += 6L * d * config.sharedIntermediateSize();
                }
                int inter = config.moeIntermediateSize();
                long each = (long) inter * d;
                gate = device.allocate(2 * each * config.numExperts());
                up = device.allocate(2 * each * config.numExperts());
                down = device.allocate(2 * each * config.numExperts());
                for (int e = 0; e < config.numExperts(); e++) {
                    source.matrix(WeightSource.Part.EXPERT_GATE, l, e, inter, d, gate, 2 * each * e);
                    source.matrix(WeightSource.Part.EXPERT_UP, l, e, inter, d, up, 2 * each * e);
                    source.matrix(WeightSource.Part.EXPERT_DOWN, l, e, d, inter, down, 2 * each * e);
                }
                bytes += 6 * each * config.numExperts();
                gate = addressTable(device, gate, 2 * each, config.numExperts());
                up = addressTable(device, up, 2 * each, config.numExperts());
                down = addressTable(device, down, 2 * each, config.numExperts());
            } else {
                dense = mlp(source, WeightSource.Part.DENSE_GATE, l, config.intermediateSize());
                bytes += 6L * d * config.intermediateSize();
            }
            long kvBytes = 4L * kvBlocksTotal * KV_BLOCK * config.kvDim();
            built.add(new DeviceLayer(device.upload(source.vector(WeightSource.Part.INPUT_NORM, l, d)),
                    device.upload(source.vector(WeightSource.Part.POST_ATTENTION_NORM, l, d)), q, k, v, o, dense, router, bias,
                    shared, gate == null ? null : new RoutedExpertLaunches.ExpertTables(gate, up, down), device.allocate(kvBytes),
                    device.allocate(kvBytes)));
            source.layerDone(l);
        }
        layers = List.copyOf(built);
        finalNorm = device.upload(source.vector(WeightSource.Part.FINAL_NORM, -1, d));
        if (config.tieWordEmbeddings()) {
            lmHead = new DeviceLinear(embeddings, DevicePointer.NULL, config.vocabSize(), d);
        } else {
            lmHead = linear(source, WeightSource.Part.LM_HEAD, -1, config.vocabSize(), d);
            bytes += 2L * config.vocabSize() * d;
        }
        for (int b = 0; b < kvBlocksTotal; b++) freeBlocks.add(b);
        kvBlocks = kvBlocksTotal;
        weightBytes = bytes;
        inverseFrequencies = RotaryEmbedding.inverseFrequencies(config.headDim(), config.ropeTheta());
        device.synchronize();
    }

    /** A device table of {@code count} addresses: {@code base}, {@code base + stride}, ... */
    private static DevicePointer addressTable(Gpu device, DevicePointer base, long stride, int count) {
        long[] addresses = new long[count];
        for (int e = 0; e < count; e++) addresses[e] = base.address() + stride * e;
        return RoutedExpertLaunches.uploadTable(device, addresses);
    }

    /** Builds the model on {@code device} from {@code source}, with a KV cache of {@code kvTokens} tokens. */
    public static GpuModel load(Gpu device, ErnieConfig config, WeightSource source, int kvTokens) {
        return new GpuModel(device, config, source, kvTokens);
    }

    private DeviceLinear linear(WeightSource source, WeightSource.Part part, int layer, int rows, int cols) {
        DevicePointer w = device.allocate(2L * rows * cols);
        source.matrix(part, layer, -1, rows, cols, w, 0);
        return new DeviceLinear(w, DevicePointer.NULL, rows, cols);
    }

    /** The gate, up and down projections; {@code gatePart} is the gate's part, the next two follow it. */
    private DeviceMlp mlp(WeightSource source, WeightSource.Part gatePart, int layer, int inter) {
        WeightSource.Part[] parts = WeightSource.Part.values();
        int d = config.hiddenSize();
        return new DeviceMlp(linear(source, gatePart, layer, inter, d), linear(source, parts[gatePart.ordinal() + 1], layer, inter, d),
                linear(source, parts[gatePart.ordinal() + 2], layer, d, inter));
    }

    @Override
    public ErnieConfig config() {
        return config;
    }

    public Gpu device() {
        return device;
    }

    /** Bytes of weights on the device (BF16 matrices; norms, router and KV cache not counted). */
    public long weightBytes() {
        return weightBytes;
    }

    @Override
    public DeviceSequence newSequence() {
        return new DeviceSequence();
    }

    /** A sequence whose KV cache lives in this model's device block pool. */
    public final class DeviceSequence implements Sequence {
        private final List<Integer> blocks = new ArrayList<>();
        private int length;
        private boolean closed;

        @Override
        public float[] append(int[] tokens) {
            FloatMatrix logits = forward(List.of(this), List.of(tokens), new int[] {tokens.length - 1});
            return logits.data();
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            freeBlocks.addAll(blocks);
            blocks.clear();
        }

        private void reserve(int tokens) {
            int needed = (tokens + KV_BLOCK - 1) / KV_BLOCK;
            if (needed - blocks.size() > freeBlocks.size()) {
                throw new IllegalStateException("the GPU KV cache is full: " + tokens + " tokens need " + needed + " blocks");
            }
            while (blocks.size() < needed) blocks.add(freeBlocks.poll());
        }
    }

    /**
     * Tokens of one sequence in a step whose KV blocks someone else allocates (the scheduler's block
     * tables): positions [start, start + tokens.length), block b of the sequence at device block
     * {@code blocks[b]}, which must cover every position up to the chunk's end.
     */
    public record PagedChunk(int start, int[] tokens, int[] blocks) {}

    /**
     * Runs one chunk of tokens per sequence, as consecutive rows, and returns the logits of the given
     * rows (indices into all rows of the step).
     */
    public FloatMatrix forward(List<DeviceSequence> sequences, List<int[]> chunks, int[] logitRows) {
        return logits(prepare(own(sequences, chunks), logitRows), logitRows);
    }

    /** As {@link #forward}, but returns the greedy token of each given row, chosen on the GPU. */
    public int[] forwardGreedy(List<DeviceSequence> sequences, List<int[]> chunks, int[] logitRows) {
        Scratch s = prepare(own(sequences, chunks), logitRows);
        run(s, logitRows, true);
        int[] next = new int[logitRows.length];
        device.copyOut(next, s.ids, next.length);
        return next;
    }

    /** As {@link #forward}, for chunks whose KV blocks the caller manages (device block ids below the pool's size). */
    public FloatMatrix forwardPaged(List<PagedChunk> chunks, int[] logitRows) {
        for (PagedChunk c : chunks) {
            for (int b : c.blocks()) {
                if (b < 0 || b >= kvBlocks) throw new IllegalArgumentException("KV block " + b + " is outside the GPU's " + kvBlocks + " blocks");
            }
        }
        return logits(prepare(chunks, logitRows), logitRows);
    }

    /**
     * The experts the last step chose, every MoE layer's rows × k ids one after the other (for the
     * per-expert token counts; a small copy from the device, made only when asked).
     */
    public int[] lastRouting() {
        Scratch s = scratch;
        if (s == null || s.rows == 0) return new int[0];
        device.makeCurrent();
        int k = config.expertsPerToken(), n = s.rows * k;
        int[] all = new int[config.numMoeLayers() * n];
        int[] layer = new int[n];
        int at = 0;
        for (int l = 0; l < layers.size(); l++) {
            if (layers.get(l).router() == null) continue;
            device.copyOut(layer, s.routingLog.plus(4L * l * s.capacity * k), n);
            System.arraycopy(layer, 0, all, at, n);
            at += n;
        }
        return all;
    }

    private FloatMatrix logits(Scratch s, int[] logitRows) {
        run(s, logitRows, false);
        FloatMatrix out = FloatMatrix.zeros(logitRows.length, config.vocabSize());
        device.copyOut(out.data(), s.logits, logitRows.length * config.vocabSize());
        return out;
    }

    /** This model's own sequences as paged chunks, their blocks reserved and their lengths advanced. */
    private List<PagedChunk> own(List<DeviceSequence> sequences, List<int[]> chunks) {
        List<PagedChunk> paged = new ArrayList<>(sequences.size());
        for (int i = 0; i < sequences.size(); i++) {
            DeviceSequence seq = sequences.get(i);
            int end = seq.length + chunks.get(i).length;
            checkLength(end);
            seq.reserve(end);
            paged.add(new PagedChunk(seq.length, chunks.get(i), seq.blocks.stream().mapToInt(Integer::intValue).toArray()));
        }
        for (int i = 0; i < sequences.size(); i++) sequences.get(i).length += chunks.get(i).length;
        return paged;
    }

    private void checkLength(int end) {
        if (end > config.maxPositions()) {
            throw new IllegalArgumentException("sequence of " + end + " tokens exceeds max_position_embeddings " + config.maxPositions());
        }
    }

    /** Whether decode steps replay a captured graph (one per batch size) instead of launching kernel by kernel. */
    public void useGraphs(boolean on) {
        graphs = on;
    }

    /**
     * The step's launches, after its inputs are on the device. A decode step (one token per sequence,
     * logits of every row) has the same launches with the same arguments whenever the batch size
     * repeats, since positions, slots and block tables are read from device memory: the first one of
     * a batch size runs eagerly and is captured, later ones replay the capture.
     */
    private void run(Scratch s, int[] logitRows, boolean greedy) {
        Runnable launches = () -> {
            device.launch("embed_rows", s.rows, 1, THREADS, 0, embeddings, s.ids, s.x, config.hiddenSize());
            for (int l = 0; l < layers.size(); l++) layer(l, layers.get(l), s);
            if (logitRows.length > 0) finish(s, logitRows);
            if (greedy) device.launch("argmax_rows", logitRows.length, 1, THREADS, 0, s.logits, s.ids, config.vocabSize());
        };
        if (!graphs || !isDecodeStep(s.rows, logitRows)) {
            launches.run();
            return;
        }
        int key = greedy ? -s.rows : s.rows;
        Gpu.Graph graph = s.graphs.get(key);
        if (graph == null) {
            // The first step of a batch size runs launch by launch, so every kernel it uses has run
            // before any capture (lazy module loading can fail inside one); later steps replay.
            launches.run();
            s.graphs.put(key, device.capture(launches));
            return;
        }
        device.replay(graph);
    }

    private boolean isDecodeStep(int rows, int[] logitRows) {
        if (rows != decodeRows || logitRows.length != rows) return false;
        for (int i = 0; i < rows; i++) if (logitRows[i] != i) return false;
        return true;
    }

    /** Copies a step's inputs to the device: token ids, positions, KV slots, block tables, RoPE angles. */
    private Scratch prepare(List<PagedChunk> chunks, int[] logitRows) {
        device.makeCurrent();
        int rows = 0;
        int tableInts = 0;
        for (PagedChunk c : chunks) {
            int end = c.start() + c.tokens().length;
            checkLength(end);
            if (c.blocks().length * KV_BLOCK < end) {
                throw new IllegalArgumentException("KV blocks for " + c.blocks().length * KV_BLOCK + " positions, the chunk ends at " + end);
            }
            rows += c.tokens().length;
            tableInts += c.blocks().length;
        }
        if (rows * config.expertsPerToken() + config.numExperts() > MAX_GROUPED_CHOICES) {
            throw new IllegalArgumentException("a GPU step takes at most " + (MAX_GROUPED_CHOICES - config.numExperts()) / config.expertsPerToken()
                    + " tokens, got " + rows);
        }
        Scratch s = scratch(rows, tableInts);
        int[] ids = new int[rows], positions = new int[rows], slots = new int[rows], tableStart = new int[rows];
        int[] tables = new int[tableInts];
        int row = 0, table = 0;
        for (PagedChunk c : chunks) {
            System.arraycopy(c.blocks(), 0, tables, table, c.blocks().length);
            for (int i = 0; i < c.tokens().length; i++) {
                int token = c.tokens()[i];
                if (token < 0 || token >= config.vocabSize()) {
                    throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, " + config.vocabSize() + ")");
                }
                int pos = c.start() + i;
                ids[row] = token;
                positions[row] = pos;
                slots[row] = c.blocks()[pos / KV_BLOCK] * KV_BLOCK + pos % KV_BLOCK;
                tableStart[row] = table;
                row++;
            }
            table += c.blocks().length;
        }
        RotaryEmbedding rope = RotaryEmbedding.forPositions(positions, inverseFrequencies);
        device.copyIn(s.ids, ids, rows);
        device.copyIn(s.positions, positions, rows);
        device.copyIn(s.slots, slots, rows);
        device.copyIn(s.tableStart, tableStart, rows);
        device.copyIn(s.tables, tables, tableInts);
        device.copyIn(s.cos, rope.cosTable(), rope.cosTable().length);
        device.copyIn(s.sin, rope.sinTable(), rope.sinTable().length);
        s.rows = rows;
        decodeRows = rows == chunks.size() ? rows : -1;
        s.ensureLogits(Math.max(1, logitRows.length));
        return s;
    }

    private void layer(int index, DeviceLayer layer, Scratch s) {
        int rows = s.rows, d = config.hiddenSize(), hd = config.headDim();
        device.launch("rms_norm", rows, 1, THREADS, 0, s.x, layer.inputNorm(), s.h, d, config.rmsNormEps());
        linear(layer.q(), s.h, s.q, rows);
        linear(layer.k(), s.h, s.k, rows);
        linear(layer.v(), s.h, s.v, rows);
        device.launch("rope_interleaved", rows, 1, ATTENTION_CHUNK, 0, s.q, s.cos, s.sin, config.numHeads(), hd);
        device.launch("rope_interleaved", rows, 1, ATTENTION_CHUNK, 0, s.k, s.cos, s.sin, config.numKvHeads(), hd);
        device.launch("kv_store", rows, 1, ATTENTION_CHUNK, 0, s.k, s.v, layer.keys(), layer.values(), s.slots, config.kvDim());
        attention(layer, s, rows);
        linear(layer.o(), s.context, s.out, rows);
        addInPlace(s.x, s.out, rows * d);
        device.launch("rms_norm", rows, 1, THREADS, 0, s.x, layer.postNorm(), s.h, d, config.rmsNormEps());
        if (layer.dense() != null) {
            mlp(layer.dense(), s.h, s.out, rows, s);
            addInPlace(s.x, s.out, rows * d);
            return;
        }
        int experts = config.numExperts(), k = config.expertsPerToken();
        device.launch("route_topk", rows, 1, THREADS, 4 * experts, s.h, layer.router(), layer.correctionBias(), s.routed.chosen,
                s.routed.routeWeights, d, experts, k, config.moeNormMin());
        device.copy(s.routingLog.plus(4L * index * s.capacity * k), s.routed.chosen, 4L * rows * k);
        DevicePointer shared = DevicePointer.NULL;
        if (layer.shared() != null) {
            mlp(layer.shared(), s.h, s.out, rows, s);
            shared = s.out;
        }
        s.routed.run(layer.experts(), s.h, rows, shared, s.x);
    }

    /**
     * Attention of every row over its sequence's KV blocks. Few rows (decode) split each row's
     * positions over {@link #ATTENTION_SPLITS} blocks and merge their partial softmaxes, so that
     * rows × heads × splits blocks keep the GPU busy; many rows take one block per row and head.
     */
    private void attention(DeviceLayer layer, Scratch s, int rows) {
        int hd = config.headDim(), heads = config.numHeads(), shared = 4 * (hd + 2 * ATTENTION_CHUNK);
        float scale = (float) Math.pow(hd, -0.5);
        if (rows <= SMALL_ROWS) {
            device.launch("attention_split", rows * ATTENTION_SPLITS, heads, ATTENTION_CHUNK, shared, s.q, layer.keys(), layer.values(),
                    s.tables, s.tableStart, s.positions, s.partAcc, s.partMax, s.partSum, heads, config.numKvHeads(), hd, KV_BLOCK, scale,
                    ATTENTION_SPLITS);
            device.launch("attention_merge", rows, heads, ATTENTION_CHUNK, 0, s.partAcc, s.partMax, s.partSum, s.context, heads, hd,
                    ATTENTION_SPLITS);
        } else {
            device.launch("attention_rows", rows, heads, ATTENTION_CHUNK, shared, s.q, layer.keys(), layer.values(), s.tables, s.tableStart,
                    s.positions, s.context, heads, config.numKvHeads(), hd, KV_BLOCK, scale);
        }
    }

    private void finish(Scratch s, int[] logitRows) {
        int d = config.hiddenSize();
        device.launch("rms_norm", s.rows, 1, THREADS, 0, s.x, finalNorm, s.h, d, config.rmsNormEps());
        for (int i = 0; i < logitRows.length; i++) {
            if (logitRows[i] < 0 || logitRows[i] >= s.rows) throw new IllegalArgumentException("no row " + logitRows[i] + " in this step");
            device.copy(s.logitInput.plus(4L * i * d), s.h.plus(4L * logitRows[i] * d), 4L * d);
        }
        linear(lmHead, s.logitInput, s.logits, logitRows.length);
    }

    private void mlp(DeviceMlp m, DevicePointer in, DevicePointer out, int rows, Scratch s) {
        linear(m.gate(), in, s.gate, rows);
        linear(m.up(), in, s.up, rows);
        int n = rows * m.intermediate();
        device.launch("swiglu", (n + THREADS - 1) / THREADS, 1, THREADS, 0, s.gate, s.up, n);
        linear(m.down(), s.gate, out, rows);
    }

    /**
     * {@code y = x · Wᵀ}: up to 8 rows stream each weight row once (decode); more rows use the tensor
     * cores (x as three BF16 parts, so fp32-exact products) when the shape is whole 16×16 tiles, else
     * fp32 tiles on the CUDA cores.
     */
    private void linear(DeviceLinear l, DevicePointer x, DevicePointer y, int rows) {
        if (rows <= SMALL_ROWS) {
            device.launch("linear_small", blocksFor(l.rows()), 1, THREADS, 0, l.weight(), x, l.bias(), y, l.rows(), l.cols(), rows, l.rows());
        } else if (l.rows() % 16 == 0 && l.cols() % 16 == 0) {
            int padded = (rows + 15) / 16 * 16 * l.cols();
            device.launch("split_bf16", Math.min(4096, (padded + THREADS - 1) / THREADS), 1, THREADS, 0, x, scratch.xHi, scratch.xMid,
                    scratch.xLo, rows * l.cols(), padded);
            device.launch("linear_tc", (l.rows() + 63) / 64, (rows + 63) / 64, 128, 0, l.weight(), scratch.xHi, scratch.xMid, scratch.xLo,
                    l.bias(), y, l.rows(), l.cols(), rows, l.rows());
        } else {
            device.launch("linear_tiled", (l.rows() + 63) / 64, (rows + 63) / 64, THREADS, 0, l.weight(), x, l.bias(), y, l.rows(), l.cols(),
                    rows, l.rows());
        }
    }

    private void addInPlace(DevicePointer x, DevicePointer y, int n) {
        device.launch("add_in_place", (n + THREADS - 1) / THREADS, 1, THREADS, 0, x, y, n);
    }

    /** Blocks of {@link #THREADS} threads for one warp per row. */
    private static int blocksFor(int rows) {
        return (rows + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK;
    }

    private Scratch scratch(int rows, int tableInts) {
        if (scratch == null || scratch.capacity < rows || scratch.tableCapacity < tableInts) {
            int capacity = Math.max(rows, scratch == null ? 0 : 2 * scratch.capacity);
            int tables = Math.max(tableInts, scratch == null ? 0 : 2 * scratch.tableCapacity);
            if (scratch != null) scratch.free();
            scratch = new Scratch(capacity, tables);
        }
        return scratch;
    }

    /** Per-step device buffers for up to {@code capacity} rows. */
    private final class Scratch {
        final int capacity, tableCapacity;
        final DevicePointer ids, positions, slots, tableStart, tables, cos, sin;
        final DevicePointer x, h, q, k, v, context, out, gate, up, xHi, xMid, xLo, partAcc, partMax, partSum;
        /** Every layer's expert choices of the step, {@code capacity × k} ints per layer, for {@link #lastRouting}. */
        final DevicePointer routingLog;
        final RoutedExpertLaunches routed;
        DevicePointer logitInput, logits;
        int logitCapacity;
        int rows;
        /** Captured decode steps by batch size (negative: greedy); they hold this scratch's addresses. */
        final Map<Integer, Gpu.Graph> graphs = new HashMap<>();

        Scratch(int capacity, int tableCapacity) {
            this.capacity = capacity;
            this.tableCapacity = tableCapacity;
            long r = capacity;
            int d = config.hiddenSize();
            int widest = Math.max(config.intermediateSize(), config.sharedIntermediateSize());
            ids = device.allocate(4 * r);
            positions = device.allocate(4 * r);
            slots = device.allocate(4 * r);
            tableStart = device.allocate(4 * r);
            tables = device.allocate(4L * tableCapacity);
            cos = device.allocate(4 * r * config.headDim() / 2);
            sin = device.allocate(4 * r * config.headDim() / 2);
            x = device.allocate(4 * r * d);
            h = device.allocate(4 * r * d);
            q = device.allocate(4 * r * config.queryDim());
            this.k = device.allocate(4 * r * config.kvDim());
            v = device.allocate(4 * r * config.kvDim());
            context = device.allocate(4 * r * config.queryDim());
            out = device.allocate(4 * r * d);
            gate = device.allocate(4 * r * widest);
            up = device.allocate(4 * r * widest);
            long widestInput = Math.max(Math.max(d, config.queryDim()), widest);
            long paddedRows = (r + 15) / 16 * 16;
            xHi = device.allocate(2 * paddedRows * widestInput);
            xMid = device.allocate(2 * paddedRows * widestInput);
            xLo = device.allocate(2 * paddedRows * widestInput);
            long splitParts = Math.min(r, SMALL_ROWS) * config.numHeads() * ATTENTION_SPLITS;
            partAcc = device.allocate(4 * splitParts * config.headDim());
            partMax = device.allocate(4 * splitParts);
            partSum = device.allocate(4 * splitParts);
            routed = new RoutedExpertLaunches(device, config, capacity);
            routingLog = device.allocate(4 * r * config.expertsPerToken() * config.numLayers());
        }

        void ensureLogits(int rowsWanted) {
            if (logits != null && logitCapacity >= rowsWanted) return;
            if (logits != null) {
                dropGraphs();
                device.free(logits);
                device.free(logitInput);
            }
            logitCapacity = Math.max(rowsWanted, 2 * logitCapacity);
            logitInput = device.allocate(4L * logitCapacity * config.hiddenSize());
            logits = device.allocate(4L * logitCapacity * config.vocabSize());
        }

        void dropGraphs() {
            graphs.values().forEach(Gpu.Graph::close);
            graphs.clear();
        }

        void free() {
            dropGraphs();
            for (DevicePointer p : new DevicePointer[] {ids, positions, slots, tableStart, tables, cos, sin, x, h, q, k, v, context, out, gate,
                    up, xHi, xMid, xLo, partAcc, partMax, partSum, routingLog, logitInput, logits}) {
                if (p != null) device.free(p);
            }
            routed.free();
        }
    }

    @Override
    public void close() {
        if (scratch != null) scratch.dropGraphs();
        device.close();
    }
}
