package io.expertmesh.model.cuda;

import io.expertmesh.model.config.ErnieConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * The model's weights on one GPU, uploaded once from a {@link WeightSource}: BF16 matrices, fp32
 * norms, router and correction bias; every routed expert of a MoE layer is reached through tables
 * of device addresses, one entry per expert id. Owns the device: closing the weights closes it.
 */
public final class GpuWeights implements AutoCloseable {
    record DeviceLinear(DevicePointer weight, DevicePointer bias, int rows, int cols) {}

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
    final DevicePointer embeddings;
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
        embeddings = device.allocate(2L * config.vocabSize() * d);
        source.matrix(WeightSource.Part.EMBEDDINGS, -1, -1, config.vocabSize(), d, embeddings, 0);
        counted += 2L * config.vocabSize() * d;
        List<DeviceLayer> built = new ArrayList<>();
        for (int l = 0; l < config.numLayers(); l++) {
            built.add(layer(source, l));
            source.layerDone(l);
        }
        layers = List.copyOf(built);
        finalNorm = device.upload(source.vector(WeightSource.Part.FINAL_NORM, -1, d));
        lmHead = config.tieWordEmbeddings() ? new DeviceLinear(embeddings, DevicePointer.NULL, config.vocabSize(), d)
                : linear(source, WeightSource.Part.LM_HEAD, -1, config.vocabSize(), d);
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
        long each = (long) inter * d;
        DevicePointer gate = device.allocate(2 * each * config.numExperts());
        DevicePointer up = device.allocate(2 * each * config.numExperts());
        DevicePointer down = device.allocate(2 * each * config.numExperts());
        for (int e = 0; e < config.numExperts(); e++) {
            source.matrix(WeightSource.Part.EXPERT_GATE, l, e, inter, d, gate, 2 * each * e);
            source.matrix(WeightSource.Part.EXPERT_UP, l, e, inter, d, up, 2 * each * e);
            source.matrix(WeightSource.Part.EXPERT_DOWN, l, e, d, inter, down, 2 * each * e);
        }
        counted += 6 * each * config.numExperts();
        var tables = new RoutedExpertLaunches.ExpertTables(addressTable(gate, 2 * each), addressTable(up, 2 * each), addressTable(down, 2 * each));
        return new DeviceLayer(inputNorm, postNorm, q, k, v, o, null, router, bias, shared, tables);
    }

    /** A device table of one address per expert: {@code base}, {@code base + stride}, ... */
    private DevicePointer addressTable(DevicePointer base, long stride) {
        long[] addresses = new long[config.numExperts()];
        for (int e = 0; e < addresses.length; e++) addresses[e] = base.address() + stride * e;
        return RoutedExpertLaunches.uploadTable(device, addresses);
    }

    private DeviceLinear linear(WeightSource source, WeightSource.Part part, int layer, int rows, int cols) {
        DevicePointer w = device.allocate(2L * rows * cols);
        source.matrix(part, layer, -1, rows, cols, w, 0);
        counted += 2L * rows * cols;
        return new DeviceLinear(w, DevicePointer.NULL, rows, cols);
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

    /** Bytes of BF16 matrices on the device (norms, router and KV cache not counted). */
    public long bytes() {
        return bytes;
    }

    @Override
    public void close() {
        device.close();
    }
}
