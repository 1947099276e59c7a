package io.expertmesh.model.cuda;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.engine.ExpertStore;
import io.expertmesh.model.engine.Routing;
import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.weights.MlpWeights;
import io.expertmesh.model.weights.WeightMatrix;
import java.util.HashMap;
import java.util.Map;

/**
 * An expert host's experts on its GPU: each expert's matrices of every MoE layer (BF16, or Q8_0 /
 * Q4_K / Q6_K blocks as the file holds them; one type per projection and layer over the hosted experts) are uploaded
 * when its entity starts and freed when it stops, and every layer keeps a device table of their
 * addresses. {@link #combine} runs a dispatch batch through the same kernels as {@link GpuModel}
 * (choices below 0 belong to other nodes) and returns the weighted sums.
 */
public final class GpuRoutedExperts implements ExpertStore, AutoCloseable {
    private final Gpu device;
    private final ErnieConfig config;
    /** Per layer (null on dense layers): the address tables, and the addresses they hold. */
    private final RoutedExpertLaunches.ExpertTables[] tables;
    private final long[][][] addresses;
    /** Expert id → its allocations, three per MoE layer. */
    private final Map<Integer, DevicePointer[]> hosted = new HashMap<>();
    private RoutedExpertLaunches launches;
    private DevicePointer rows, sums;
    private boolean closed;

    public GpuRoutedExperts(Gpu device, ErnieConfig config) {
        this.device = device;
        this.config = config;
        device.makeCurrent();
        tables = new RoutedExpertLaunches.ExpertTables[config.numLayers()];
        addresses = new long[config.numLayers()][][];
        for (int l = 0; l < config.numLayers(); l++) {
            if (!config.isMoeLayer(l)) continue;
            addresses[l] = new long[3][config.numExperts()];
            // BF16 until the first expert arrives: with no expert hosted, no kernel reads a matrix.
            tables[l] = new RoutedExpertLaunches.ExpertTables(RoutedExpertLaunches.uploadTable(device, addresses[l][0]),
                    RoutedExpertLaunches.uploadTable(device, addresses[l][1]), RoutedExpertLaunches.uploadTable(device, addresses[l][2]),
                    DType.BF16, DType.BF16);
        }
    }

    @Override
    public void add(int expert, MlpWeights[] layers) {
        open();
        device.makeCurrent();
        remove(expert);
        for (int l = 0; l < config.numLayers(); l++) {
            if (tables[l] != null) tables[l] = tables[l].withTypes(layerType(l, layers[l].gate().weight(), layers[l].up().weight(), 0),
                    layerType(l, layers[l].down().weight(), layers[l].down().weight(), 2));
        }
        DevicePointer[] mine = new DevicePointer[3 * config.numLayers()];
        hosted.put(expert, mine);
        for (int l = 0; l < config.numLayers(); l++) {
            if (tables[l] == null) continue;
            WeightMatrix[] parts = {layers[l].gate().weight(), layers[l].up().weight(), layers[l].down().weight()};
            for (int p = 0; p < 3; p++) {
                WeightMatrix m = parts[p];
                DevicePointer at = device.allocate(m.byteSize());
                device.copyIn(at, m.data());
                mine[3 * l + p] = at;
                addresses[l][p][expert] = at.address();
            }
            writeTables(l);
        }
    }

    /**
     * The type of {@code first} and {@code second} (gate and up, or down twice) on layer {@code l}: a
     * supported one, shared by the two, and by the hosted experts' matrices in table {@code table}.
     */
    private DType layerType(int l, WeightMatrix first, WeightMatrix second, int table) {
        DType type = GpuWeights.deviceType(first);
        if (GpuWeights.deviceType(second) != type) {
            throw new ModelFormatException(second.name() + " is " + second.dtype() + " but " + first.name() + " is " + type
                    + "; the GPU needs one type for an expert's gate and up");
        }
        DType hostedType = table == 0 ? tables[l].gateUpType() : tables[l].downType();
        if (!hosted.isEmpty() && hostedType != type) {
            throw new ModelFormatException(first.name() + " is " + type + " but this GPU's experts on layer " + l + " are " + hostedType
                    + "; the GPU needs one type per projection of a layer");
        }
        return type;
    }

    /** Frees the expert's device memory; after {@link #close} (entities stop after the node's GPU is released) nothing is left to free. */
    @Override
    public void remove(int expert) {
        DevicePointer[] mine = hosted.remove(expert);
        if (mine == null || closed) return;
        device.makeCurrent();
        for (int l = 0; l < config.numLayers(); l++) {
            if (tables[l] == null) continue;
            for (int p = 0; p < 3; p++) addresses[l][p][expert] = 0;
            writeTables(l);
        }
        for (DevicePointer p : mine) if (p != null) device.free(p);
    }

    private void writeTables(int layer) {
        RoutedExpertLaunches.writeTable(device, tables[layer].gate(), addresses[layer][0]);
        RoutedExpertLaunches.writeTable(device, tables[layer].up(), addresses[layer][1]);
        RoutedExpertLaunches.writeTable(device, tables[layer].down(), addresses[layer][2]);
    }

    @Override
    public FloatMatrix combine(int layer, FloatMatrix x, Routing routing) {
        open();
        if (tables[layer] == null) throw new IllegalArgumentException("layer " + layer + " has no routed experts");
        for (int e : routing.experts()) {
            if (e >= 0 && !hosted.containsKey(e)) throw new IllegalStateException("expert " + e + " is not on this GPU");
        }
        device.makeCurrent();
        int n = x.rows(), d = config.hiddenSize(), k = routing.k();
        ensure(n);
        device.copyIn(rows, x.data(), n * d);
        device.copyIn(sums, new float[n * d], n * d);
        device.copyIn(launches.chosen, routing.experts(), n * k);
        device.copyIn(launches.routeWeights, routing.weights(), n * k);
        launches.run(tables[layer], rows, n, DevicePointer.NULL, sums);
        FloatMatrix out = FloatMatrix.zeros(n, d);
        device.copyOut(out.data(), sums, n * d);
        return out;
    }

    private void ensure(int n) {
        if (launches != null && launches.capacity >= n) return;
        int capacity = Math.max(n, launches == null ? 0 : 2 * launches.capacity);
        if (launches != null) {
            launches.free();
            device.free(rows);
            device.free(sums);
        }
        launches = new RoutedExpertLaunches(device, config, capacity);
        rows = device.allocate(4L * capacity * config.hiddenSize());
        sums = device.allocate(4L * capacity * config.hiddenSize());
    }

    public String deviceName() {
        return device.name();
    }

    /** The hosted expert ids, ascending. */
    public int[] experts() {
        return hosted.keySet().stream().mapToInt(Integer::intValue).sorted().toArray();
    }

    private void open() {
        if (closed) throw new IllegalStateException("the GPU of this node's experts has been released");
    }

    @Override
    public void close() {
        closed = true;
        device.close();
    }
}
