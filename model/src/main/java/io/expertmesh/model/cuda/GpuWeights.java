package io.expertmesh.model.cuda;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.weights.WeightMatrix;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The model's weights on one GPU, uploaded once from a {@link WeightSource}: matrices in BF16 or as
 * GGML's Q8_0 / Q4_K / Q6_K blocks (each matrix in its own type, the kernels picked by it), fp32 norms,
 * router and correction bias; every routed expert of a MoE layer is reached through tables of
 * device addresses, one entry per expert id. Owns the device: closing the weights closes it.
 */
public final class GpuWeights implements AutoCloseable {
    /** The matrix types the kernels read. */
    public static final Set<DType> SUPPORTED = Set.of(DType.BF16, DType.Q8_0, DType.Q4_K, DType.Q6_K);

    record DeviceLinear(DevicePointer weight, DevicePointer bias, DType type, int rows, int cols) {}

    record DeviceMlp(DeviceLinear gate, DeviceLinear up, DeviceLinear down) {
        int intermediate() {
            return gate.rows();
        }
    }

    /** One layer on the device: exactly one of {@code dense} and {@code router} is set. */
    record DeviceLayer(DevicePointer inputNorm, DevicePointer postNorm, DeviceLinear q, DeviceLinear k, DeviceLinear v, DeviceLinear o,
                       DeviceMlp dense, DevicePointer router, DevicePointer correctionBias, DeviceMlp shared,
                       RoutedExpertLaunches.ExpertTables experts) {}

    private final Gpu device;
    private final ErnieConfig config;
    final DeviceLinear embeddings;
    final DeviceLinear lmHead;
    final DevicePointer finalNorm;
    final List<DeviceLayer> layers;
    private final long bytes;
    private long counted;

    private GpuWeights(Gpu device, ErnieConfig config, WeightSource source) {
        this.device = device;
        this.config = config;
        device.makeCurrent();
        int d = config.hiddenSize();
        embeddings = linear(source, WeightSource.Part.EMBEDDINGS, -1, config.vocabSize(), d);
        List<DeviceLayer> built = new ArrayList<>();
        for (int l = 0; l < config.numLayers(); l++) {
            built.add(layer(source, l));
            source.layerDone(l);
        }
        layers = List.copyOf(built);
        finalNorm = device.upload(source.vector(WeightSource.Part.FINAL_NORM, -1, d));
        lmHead = config.tieWordEmbeddings() ? embeddings : linear(source, WeightSource.Part.LM_HEAD, -1, config.vocabSize(), d);
        bytes = counted;
        device.synchronize();
    }

    /**
     * Uploads {@code source} to {@code device}, which the weights then own.
     *
     * @throws IllegalArgumentException for a model the kernels do not support
     */
    public static GpuWeights upload(Gpu device, ErnieConfig config, WeightSource source) {
        if (config.headDim() > 4 * GpuModel.ATTENTION_CHUNK || config.expertsPerToken() > 32 || config.useBias()) {
            throw new IllegalArgumentException("the CUDA path supports head_dim <= 512, moe_k <= 32 and use_bias = false; this model has "
                    + "head_dim " + config.headDim() + ", moe_k " + config.expertsPerToken() + ", use_bias " + config.useBias());
        }
        return new GpuWeights(device, config, source);
    }

    /**
     * The type {@code m} goes to the device in: its own, when the kernels read it.
     *
     * @throws ModelFormatException naming the tensor and its type when they do not
     */
    public static DType deviceType(WeightMatrix m) {
        if (!SUPPORTED.contains(m.dtype())) {
            throw new ModelFormatException(m.name() + ": the CUDA path reads BF16, Q8_0, Q4_K and Q6_K weights, not " + m.dtype());
        }
        return m.dtype();
    }

    /** Bytes of a [rows, cols] matrix of {@code type} (whole blocks per row). */
    static long matrixBytes(DType type, int rows, int cols) {
        return rows * type.byteSize(cols);
    }

    private DeviceLayer layer(WeightSource source, int l) {
        int d = config.hiddenSize();
        var q = linear(source, WeightSource.Part.Q, l, config.queryDim(), d);
        var k = linear(source, WeightSource.Part.K, l, config.kvDim(), d);
        var v = linear(source, WeightSource.Part.V, l, config.kvDim(), d);
        var o = linear(source, WeightSource.Part.O, l, d, config.queryDim());
        DevicePointer inputNorm = device.upload(source.vector(WeightSource.Part.INPUT_NORM, l, d));
        DevicePointer postNorm = device.upload(source.vector(WeightSource.Part.POST_ATTENTION_NORM, l, d));
        if (!config.isMoeLayer(l)) {
            return new DeviceLayer(inputNorm, postNorm, q, k, v, o, mlp(source, WeightSource.Part.DENSE_GATE, l, config.intermediateSize()),
                    null, null, null, null);
        }
        DevicePointer router = device.upload(source.vector(WeightSource.Part.ROUTER, l, config.numExperts() * d));
        DevicePointer bias = device.upload(source.vector(WeightSource.Part.CORRECTION_BIAS, l, config.numExperts()));
        DeviceMlp shared = config.numSharedExperts() > 0 ? mlp(source, WeightSource.Part.SHARED_GATE, l, config.sharedIntermediateSize()) : null;
        int inter = config.moeIntermediateSize();
        DType gateUpType = expertType(source, WeightSource.Part.EXPERT_GATE, l);
        DType downType = expertType(source, WeightSource.Part.EXPERT_DOWN, l);
        DType upType = expertType(source, WeightSource.Part.EXPERT_UP, l);
        if (upType != gateUpType) {
            throw new ModelFormatException("layer " + l + ": the routed experts' up projections are " + upType + " and their gate projections "
                    + gateUpType + "; the GPU needs one type for both");
        }
        long gateUpBytes = matrixBytes(gateUpType, inter, d), downBytes = matrixBytes(downType, d, inter);
        DevicePointer gate = device.allocate(gateUpBytes * config.numExperts());
        DevicePointer up = device.allocate(gateUpBytes * config.numExperts());
        DevicePointer down = device.allocate(downBytes * config.numExperts());
        for (int e = 0; e < config.numExperts(); e++) {
            source.matrix(WeightSource.Part.EXPERT_GATE, l, e, inter, d, gate, gateUpBytes * e);
            source.matrix(WeightSource.Part.EXPERT_UP, l, e, inter, d, up, gateUpBytes * e);
            source.matrix(WeightSource.Part.EXPERT_DOWN, l, e, d, inter, down, downBytes * e);
        }
        counted += (2 * gateUpBytes + downBytes) * config.numExperts();
        var tables = new RoutedExpertLaunches.ExpertTables(addressTable(gate, gateUpBytes), addressTable(up, gateUpBytes),
                addressTable(down, downBytes), gateUpType, downType);
        return new DeviceLayer(inputNorm, postNorm, q, k, v, o, null, router, bias, shared, tables);
    }

    /** The one type of {@code part} over every routed expert of layer {@code l} (the kernels read one type per table). */
    private DType expertType(WeightSource source, WeightSource.Part part, int l) {
        DType type = source.matrixType(part, l, 0);
        for (int e = 1; e < config.numExperts(); e++) {
            DType other = source.matrixType(part, l, e);
            if (other != type) {
                throw new ModelFormatException("layer " + l + ": routed expert " + e + "'s " + part + " is " + other + " but expert 0's is " + type
                        + "; the GPU needs one type per projection of a layer");
            }
        }
        return type;
    }

    /** A device table of one address per expert: {@code base}, {@code base + stride}, ... */
    private DevicePointer addressTable(DevicePointer base, long stride) {
        long[] addresses = new long[config.numExperts()];
        for (int e = 0; e < addresses.length; e++) addresses[e] = base.address() + stride * e;
        return RoutedExpertLaunches.uploadTable(device, addresses);
    }

    private DeviceLinear linear(WeightSource source, WeightSource.Part part, int layer, int rows, int cols) {
        DType type = source.matrixType(part, layer, -1);
        long bytes = matrixBytes(type, rows, cols);
        DevicePointer w = device.allocate(bytes);
        source.matrix(part, layer, -1, rows, cols, w, 0);
        counted += bytes;
        return new DeviceLinear(w, DevicePointer.NULL, type, rows, cols);
    }

    /** The gate, up and down projections; {@code gatePart} is the gate's part, the next two follow it. */
    private DeviceMlp mlp(WeightSource source, WeightSource.Part gatePart, int layer, int inter) {
        WeightSource.Part[] parts = WeightSource.Part.values();
        int d = config.hiddenSize();
        return new DeviceMlp(linear(source, gatePart, layer, inter, d), linear(source, parts[gatePart.ordinal() + 1], layer, inter, d),
                linear(source, parts[gatePart.ordinal() + 2], layer, d, inter));
    }

    public Gpu device() {
        return device;
    }

    public ErnieConfig config() {
        return config;
    }

    /** Bytes of weight matrices on the device (norms, router and KV cache not counted). */
    public long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        device.close();
    }
}
