package io.expertmesh.model.cuda;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.KvCache;
import io.expertmesh.model.engine.ModelStep;
import io.expertmesh.model.engine.MoeFeedForward;
import io.expertmesh.model.engine.RotaryEmbedding;
import io.expertmesh.model.engine.Routing;
import io.expertmesh.model.engine.SequenceChunk;
import io.expertmesh.model.engine.StepOutput;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.safetensors.DType;
import java.util.List;

/**
 * The ERNIE-4.5 MoE forward step on one GPU, top to bottom as {@code ErnieModel} does it on the
 * CPU: fp32 activations over the {@link GpuWeights}, keys and values in {@link GpuKvBlocks} at the
 * block ids of each chunk's kv-store block table, the router, then the MoE layer's experts: on the
 * device (rows grouped by expert, every routed expert of a layer in one launch each for gate/up and
 * down, the weighted combine in ascending expert id plus the shared expert) when the
 * {@link MoeFeedForward} says they all run here, else through that feed-forward on the host, as
 * the CPU model dispatches to expert nodes.
 */
public final class GpuModel implements ModelStep, AutoCloseable {
    /** Rows the small-batch kernels serve per weight pass (MAX_TOKENS in ernie.cu). */
    static final int SMALL_ROWS = 8;
    private static final int THREADS = 256;
    private static final int WARPS_PER_BLOCK = THREADS / 32;
    /** Threads of an attention block (ATTN_CHUNK in ernie.cu). */
    static final int ATTENTION_CHUNK = 128;
    /** Blocks each decode row's attention is split over (split-K). */
    static final int ATTENTION_SPLITS = 8;
    /** Choices (tokens × k) plus experts that moe_group can stage in 48 KB of shared memory. */
    private static final int MAX_GROUPED_CHOICES = 48 * 1024 / 4;

    private final Gpu device;
    private final ErnieConfig config;
    private final GpuWeights weights;
    private final GpuKvBlocks kv;
    private final MoeFeedForward moe;
    private final float[] inverseFrequencies;
    private GpuScratch scratch;
    private boolean graphs = true;

    /**
     * A step over {@code weights} and {@code kv} (on the same device). {@code moe} runs the MoE
     * layers' experts when some of them are elsewhere ({@link MoeFeedForward#allLocal} false for the
     * step); null: every expert runs on this GPU.
     */
    public GpuModel(GpuWeights weights, GpuKvBlocks kv, MoeFeedForward moe) {
        this.device = weights.device();
        this.config = weights.config();
        this.weights = weights;
        this.kv = kv;
        this.moe = moe;
        this.inverseFrequencies = RotaryEmbedding.inverseFrequencies(config.headDim(), config.ropeTheta());
    }

    /** Uploads {@code source} to {@code device} with {@code kvBlocks} KV blocks, every expert on the device. */
    public static GpuModel load(Gpu device, ErnieConfig config, WeightSource source, int kvBlocks) {
        GpuWeights weights = GpuWeights.upload(device, config, source);
        return new GpuModel(weights, GpuKvBlocks.allocate(device, config, kvBlocks), null);
    }

    @Override
    public ErnieConfig config() {
        return config;
    }

    public Gpu device() {
        return device;
    }

    public GpuWeights weights() {
        return weights;
    }

    /** KV blocks on the device: the size of the kv-store pool whose block ids the chunks carry. */
    public int kvBlocks() {
        return kv.blocks();
    }

    /** Whether decode steps replay a captured graph (one per batch size) instead of launching kernel by kernel. */
    public void useGraphs(boolean on) {
        graphs = on;
    }

    @Override
    public StepOutput forward(List<SequenceChunk> chunks, int[] logitRows) {
        GpuScratch s = prepare(chunks, logitRows);
        boolean onDevice = moe == null || moe.allLocal();
        Runnable launches = () -> {
            embed(s);
            for (int l = 0; l < weights.layers.size(); l++) layer(l, weights.layers.get(l), s, onDevice);
            if (logitRows.length > 0) finish(s, logitRows);
        };
        if (onDevice && graphs && isDecodeStep(chunks, s.rows, logitRows)) {
            replayOrCapture(s, launches);
        } else {
            launches.run();
        }
        FloatMatrix logits = null;
        if (logitRows.length > 0) {
            logits = FloatMatrix.zeros(logitRows.length, config.vocabSize());
            device.copyOut(logits.data(), s.logits, logitRows.length * config.vocabSize());
        }
        return new StepOutput(logits, chosenExperts(s));
    }

    /**
     * A decode step (one token per sequence, logits of every row) has the same launches with the same
     * arguments whenever the batch size repeats, since positions, slots and block tables are read
     * from device memory: the first one of a batch size runs eagerly and is captured, later ones replay.
     */
    private void replayOrCapture(GpuScratch s, Runnable launches) {
        Gpu.Graph graph = s.graphs.get(s.rows);
        if (graph == null) {
            // The first step of a batch size runs launch by launch, so every kernel it uses has run
            // before any capture (lazy module loading can fail inside one); later steps replay.
            launches.run();
            s.graphs.put(s.rows, device.capture(launches));
            return;
        }
        device.replay(graph);
    }

    private static boolean isDecodeStep(List<SequenceChunk> chunks, int rows, int[] logitRows) {
        if (rows != chunks.size() || logitRows.length != rows) return false;
        for (int i = 0; i < rows; i++) if (logitRows[i] != i) return false;
        return true;
    }

    /** Copies a step's inputs to the device: token ids, positions, KV slots, block tables, RoPE angles. */
    private GpuScratch prepare(List<SequenceChunk> chunks, int[] logitRows) {
        device.makeCurrent();
        int rows = 0;
        int tableInts = 0;
        for (SequenceChunk c : chunks) {
            if (c.end() > config.maxPositions()) {
                throw new IllegalArgumentException("sequence of " + c.end() + " tokens exceeds max_position_embeddings " + config.maxPositions());
            }
            KvCache cache = c.cache();
            if (cache.blockSize() != GpuKvBlocks.BLOCK) {
                throw new IllegalArgumentException("the GPU keeps KV in blocks of " + GpuKvBlocks.BLOCK + " positions, not " + cache.blockSize());
            }
            cache.ensureCapacity(c.end());
            rows += c.tokens().length;
            tableInts += cache.blockCount();
        }
        if (rows * config.expertsPerToken() + config.numExperts() > MAX_GROUPED_CHOICES) {
            throw new IllegalArgumentException("a GPU step takes at most " + (MAX_GROUPED_CHOICES - config.numExperts()) / config.expertsPerToken()
                    + " tokens, got " + rows);
        }
        for (int r : logitRows) if (r < 0 || r >= rows) throw new IllegalArgumentException("no row " + r + " in this step");
        GpuScratch s = scratch(rows, tableInts);
        int[] ids = new int[rows], positions = new int[rows], slots = new int[rows], tableStart = new int[rows];
        int[] tables = new int[tableInts];
        int row = 0, table = 0;
        for (SequenceChunk c : chunks) {
            KvCache cache = c.cache();
            for (int b = 0; b < cache.blockCount(); b++) {
                int id = cache.blockId(b);
                if (id < 0 || id >= kv.blocks()) throw new IllegalArgumentException("KV block " + id + " is outside the GPU's " + kv.blocks() + " blocks");
                tables[table + b] = id;
            }
            for (int i = 0; i < c.tokens().length; i++) {
                int token = c.tokens()[i];
                if (token < 0 || token >= config.vocabSize()) {
                    throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, " + config.vocabSize() + ")");
                }
                int pos = c.start() + i;
                ids[row] = token;
                positions[row] = pos;
                slots[row] = tables[table + pos / GpuKvBlocks.BLOCK] * GpuKvBlocks.BLOCK + pos % GpuKvBlocks.BLOCK;
                tableStart[row] = table;
                row++;
            }
            table += cache.blockCount();
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
        s.ensureLogits(Math.max(1, logitRows.length));
        return s;
    }

    private void layer(int index, GpuWeights.DeviceLayer layer, GpuScratch s, boolean expertsOnDevice) {
        int rows = s.rows, d = config.hiddenSize(), hd = config.headDim();
        device.launch("rms_norm", rows, 1, THREADS, 0, s.x, layer.inputNorm(), s.h, d, config.rmsNormEps());
        linear(layer.q(), s.h, s.q, rows);
        linear(layer.k(), s.h, s.k, rows);
        linear(layer.v(), s.h, s.v, rows);
        device.launch("rope_interleaved", rows, 1, ATTENTION_CHUNK, 0, s.q, s.cos, s.sin, config.numHeads(), hd);
        device.launch("rope_interleaved", rows, 1, ATTENTION_CHUNK, 0, s.k, s.cos, s.sin, config.numKvHeads(), hd);
        device.launch("kv_store", rows, 1, ATTENTION_CHUNK, 0, s.k, s.v, kv.keys[index], kv.values[index], s.slots, config.kvDim());
        attention(index, s, rows);
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
        if (expertsOnDevice) {
            DevicePointer shared = DevicePointer.NULL;
            if (layer.shared() != null) {
                mlp(layer.shared(), s.h, s.out, rows, s);
                shared = s.out;
            }
            s.routed.run(layer.experts(), s.h, rows, shared, s.x);
        } else {
            addInPlace(s.x, throughFeedForward(index, s), rows * d);
        }
    }

    /** The MoE layer's experts and shared expert through {@link #moe} on the host; their sum is left in {@code s.out}. */
    private DevicePointer throughFeedForward(int layer, GpuScratch s) {
        int rows = s.rows, d = config.hiddenSize(), k = config.expertsPerToken();
        FloatMatrix h = FloatMatrix.zeros(rows, d);
        int[] experts = new int[rows * k];
        float[] routeWeights = new float[rows * k];
        device.copyOut(h.data(), s.h, rows * d);
        device.copyOut(experts, s.routed.chosen, rows * k);
        device.copyOut(routeWeights, s.routed.routeWeights, rows * k);
        FloatMatrix out = moe.apply(layer, h, new Routing(rows, k, experts, routeWeights));
        device.copyIn(s.out, out.data(), rows * d);
        return s.out;
    }

    /**
     * Attention of every row over its sequence's KV blocks. Few rows (decode) split each row's
     * positions over {@link #ATTENTION_SPLITS} blocks and merge their partial softmaxes, so that
     * rows × heads × splits blocks keep the GPU busy; many rows take one block per row and head.
     */
    private void attention(int layer, GpuScratch s, int rows) {
        int hd = config.headDim(), heads = config.numHeads(), shared = 4 * (hd + 2 * ATTENTION_CHUNK);
        float scale = (float) Math.pow(hd, -0.5);
        DevicePointer keys = kv.keys[layer], values = kv.values[layer];
        if (rows <= SMALL_ROWS) {
            device.launch("attention_split", rows * ATTENTION_SPLITS, heads, ATTENTION_CHUNK, shared, s.q, keys, values, s.tables,
                    s.tableStart, s.positions, s.partAcc, s.partMax, s.partSum, heads, config.numKvHeads(), hd, GpuKvBlocks.BLOCK, scale,
                    ATTENTION_SPLITS);
            device.launch("attention_merge", rows, heads, ATTENTION_CHUNK, 0, s.partAcc, s.partMax, s.partSum, s.context, heads, hd,
                    ATTENTION_SPLITS);
        } else {
            device.launch("attention_rows", rows, heads, ATTENTION_CHUNK, shared, s.q, keys, values, s.tables, s.tableStart, s.positions,
                    s.context, heads, config.numKvHeads(), hd, GpuKvBlocks.BLOCK, scale);
        }
    }

    private void finish(GpuScratch s, int[] logitRows) {
        int d = config.hiddenSize();
        device.launch("rms_norm", s.rows, 1, THREADS, 0, s.x, weights.finalNorm, s.h, d, config.rmsNormEps());
        for (int i = 0; i < logitRows.length; i++) {
            device.copy(s.logitInput.plus(4L * i * d), s.h.plus(4L * logitRows[i] * d), 4L * d);
        }
        linear(weights.lmHead, s.logitInput, s.logits, logitRows.length);
    }

    /** Every MoE layer's choices of the step, copied back from the device's routing log. */
    private int[] chosenExperts(GpuScratch s) {
        int n = s.rows * config.expertsPerToken();
        int[] all = new int[config.numMoeLayers() * n];
        int[] layer = new int[n];
        int at = 0;
        for (int l = 0; l < weights.layers.size(); l++) {
            if (weights.layers.get(l).router() == null) continue;
            device.copyOut(layer, s.routingLog.plus(4L * l * s.capacity * config.expertsPerToken()), n);
            System.arraycopy(layer, 0, all, at, n);
            at += n;
        }
        return all;
    }

    private void mlp(GpuWeights.DeviceMlp m, DevicePointer in, DevicePointer out, int rows, GpuScratch s) {
        linear(m.gate(), in, s.gate, rows);
        linear(m.up(), in, s.up, rows);
        int n = rows * m.intermediate();
        device.launch("swiglu", (n + THREADS - 1) / THREADS, 1, THREADS, 0, s.gate, s.up, n);
        linear(m.down(), s.gate, out, rows);
    }

    private void embed(GpuScratch s) {
        GpuWeights.DeviceLinear table = weights.embeddings;
        String kernel = switch (table.type()) {
            case BF16 -> "embed_rows";
            case Q8_0 -> "embed_rows_q8_0";
            case Q4_K -> "embed_rows_q4_k";
            case Q6_K -> "embed_rows_q6_k";
            default -> throw RoutedExpertLaunches.unsupported(table.type());
        };
        device.launch(kernel, s.rows, 1, THREADS, 0, table.weight(), s.ids, s.x, config.hiddenSize());
    }

    /**
     * {@code y = x · Wᵀ}: block-quantized weights take their type's one-warp-per-row kernel for any
     * number of rows; BF16 ones: up to 8 rows stream each weight row once (decode); more rows use the tensor
     * cores (x as three BF16 parts, so fp32-exact products) when the shape is whole 16×16 tiles, else
     * fp32 tiles on the CUDA cores.
     */
    private void linear(GpuWeights.DeviceLinear l, DevicePointer x, DevicePointer y, int rows) {
        if (l.type() != DType.BF16) {
            String kernel = switch (l.type()) {
                case Q8_0 -> "linear_q8_0";
                case Q4_K -> "linear_q4_k";
                case Q6_K -> "linear_q6_k";
                default -> throw RoutedExpertLaunches.unsupported(l.type());
            };
            device.launch(kernel, blocksFor(l.rows()), 1, THREADS, 0, l.weight(), x, l.bias(), y, l.rows(), l.cols(), rows, l.rows());
        } else if (rows <= SMALL_ROWS) {
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

    private GpuScratch scratch(int rows, int tableInts) {
        if (scratch == null || scratch.capacity < rows || scratch.tableCapacity < tableInts) {
            int capacity = Math.max(rows, scratch == null ? 0 : 2 * scratch.capacity);
            int tables = Math.max(tableInts, scratch == null ? 0 : 2 * scratch.tableCapacity);
            if (scratch != null) scratch.free();
            scratch = new GpuScratch(device, config, capacity, tables);
        }
        return scratch;
    }

    /** Drops the captured graphs and closes the device (with everything on it). */
    @Override
    public void close() {
        if (scratch != null) scratch.dropGraphs();
        weights.close();
    }
}
