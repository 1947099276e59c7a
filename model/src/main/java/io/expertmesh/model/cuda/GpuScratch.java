package io.expertmesh.model.cuda;

import io.expertmesh.model.config.ErnieConfig;
import java.util.HashMap;
import java.util.Map;

/**
 * A GPU step's device buffers for up to {@code capacity} rows: its inputs (token ids, positions, KV
 * slots, block tables, RoPE angles), the activations of one layer, the routed experts' buffers,
 * the logits, and the decode steps captured as graphs, which hold these buffers' addresses.
 */
final class GpuScratch {
    final int capacity, tableCapacity;
    final DevicePointer ids, positions, slots, tableStart, tables, cos, sin;
    final DevicePointer x, h, q, k, v, context, out, gate, up, xHi, xMid, xLo, partAcc, partMax, partSum;
    /** Every layer's expert choices of the step, {@code capacity × k} ints per layer. */
    final DevicePointer routingLog;
    final RoutedExpertLaunches routed;
    DevicePointer logitInput, logits;
    int logitCapacity;
    int rows;
    /** Captured decode steps by batch size. */
    final Map<Integer, Gpu.Graph> graphs = new HashMap<>();
    private final Gpu device;
    private final ErnieConfig config;

    GpuScratch(Gpu device, ErnieConfig config, int capacity, int tableCapacity) {
        this.device = device;
        this.config = config;
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
        k = device.allocate(4 * r * config.kvDim());
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
        long splitParts = Math.min(r, GpuModel.SMALL_ROWS) * config.numHeads() * GpuModel.ATTENTION_SPLITS;
        partAcc = device.allocate(4 * splitParts * config.headDim());
        partMax = device.allocate(4 * splitParts);
        partSum = device.allocate(4 * splitParts);
        routed = new RoutedExpertLaunches(device, config, capacity);
        routingLog = device.allocate(4 * r * config.expertsPerToken() * config.numLayers());
    }

    /** Makes room for the logits of {@code rowsWanted} rows; growing drops the captured graphs. */
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
