package io.expertmesh.model.cuda;

import io.expertmesh.model.config.ErnieConfig;

/**
 * The routed-expert part of a MoE layer on a GPU, shared by {@link GpuModel} (every expert local)
 * and {@link GpuRoutedExperts} (an expert host's experts): group the step's choices by expert,
 * gate/up and down of every expert with tokens in one launch each, then {@code out += Σ w · y} per
 * row in ascending expert id (plus the shared expert's output when given). With many rows the
 * products run on the tensor cores. Buffers are sized for up to {@code capacity} rows.
 */
final class RoutedExpertLaunches {
    private static final int THREADS = 256;
    private static final int SMALL_ROWS = 8;

    /** Tables of each expert's gate, up and down matrices for one layer (device addresses, 0 = absent). */
    record ExpertTables(DevicePointer gate, DevicePointer up, DevicePointer down) {}

    private final Gpu device;
    private final ErnieConfig config;
    final int capacity;
    /** Inputs: the router's choices (expert id per row and choice; below 0 = elsewhere) and weights. */
    final DevicePointer chosen, routeWeights;
    private final DevicePointer expertStart, activeExperts, slotToken, tokenSlot, expertHidden, expertOut, slotHi, slotMid, slotLo;

    RoutedExpertLaunches(Gpu device, ErnieConfig config, int capacity) {
        this.device = device;
        this.config = config;
        this.capacity = capacity;
        long r = capacity, k = config.expertsPerToken(), d = config.hiddenSize(), inter = config.moeIntermediateSize();
        chosen = device.allocate(4 * r * k);
        routeWeights = device.allocate(4 * r * k);
        expertStart = device.allocate(4L * (config.numExperts() + 1));
        activeExperts = device.allocate(4L * (config.numExperts() + 1));
        slotToken = device.allocate(4 * r * k);
        tokenSlot = device.allocate(4 * r * k);
        expertHidden = device.allocate(4 * r * k * inter);
        expertOut = device.allocate(4 * r * k * d);
        long parts = 2 * (r * k + 16) * Math.max(d, inter);
        slotHi = device.allocate(parts);
        slotMid = device.allocate(parts);
        slotLo = device.allocate(parts);
    }

    /** {@code out[t] += Σ over t's choices of w · expert(x[t])} (+ {@code shared[t]} unless NULL), for {@code rows} rows. */
    void run(ExpertTables tables, DevicePointer x, int rows, DevicePointer shared, DevicePointer out) {
        int experts = config.numExperts(), k = config.expertsPerToken(), d = config.hiddenSize(), inter = config.moeIntermediateSize();
        device.launch("moe_group", 1, 1, THREADS, 4 * (rows * k + experts), chosen, rows, k, experts, expertStart, slotToken, tokenSlot,
                activeExperts);
        int activeBound = Math.min(experts, rows * k);
        if (rows > SMALL_ROWS && inter % 16 == 0 && d % 16 == 0) {
            int slots = rows * k, padded = slots + 16;
            device.launch("gather_split_bf16", padded, 1, THREADS, 0, x, slotToken, slotHi, slotMid, slotLo, slots, padded, d);
            device.launch("experts_gate_up_tc", (inter + 63) / 64, activeBound, 128, 0, tables.gate(), tables.up(), slotHi, slotMid, slotLo,
                    expertStart, activeExperts, expertHidden, inter, d, experts);
            int hElements = padded * inter;
            device.launch("split_bf16", Math.min(4096, (hElements + THREADS - 1) / THREADS), 1, THREADS, 0, expertHidden, slotHi, slotMid,
                    slotLo, slots * inter, hElements);
            device.launch("experts_down_tc", (d + 63) / 64, activeBound, 128, 0, tables.down(), slotHi, slotMid, slotLo, expertStart,
                    activeExperts, expertOut, d, inter, experts);
        } else {
            device.launch("experts_gate_up", (inter + 7) / 8, activeBound, THREADS, 0, tables.gate(), tables.up(), x, expertStart,
                    activeExperts, slotToken, expertHidden, inter, d, experts);
            device.launch("experts_down", (d + 7) / 8, activeBound, THREADS, 0, tables.down(), expertHidden, expertStart, activeExperts,
                    expertOut, d, inter, experts);
        }
        device.launch("moe_combine", rows, 1, THREADS, 0, expertOut, tokenSlot, chosen, routeWeights, shared, out, k, d);
    }

    /** A device table of addresses (the kernels' {@code unsigned long long}); 0 marks an absent expert. */
    static DevicePointer uploadTable(Gpu device, long[] addresses) {
        DevicePointer table = device.allocate(8L * addresses.length);
        writeTable(device, table, addresses);
        return table;
    }

    /** Overwrites a table made by {@link #uploadTable} (little-endian int pairs). */
    static void writeTable(Gpu device, DevicePointer table, long[] addresses) {
        int[] words = new int[2 * addresses.length];
        for (int i = 0; i < addresses.length; i++) {
            words[2 * i] = (int) addresses[i];
            words[2 * i + 1] = (int) (addresses[i] >>> 32);
        }
        device.copyIn(table, words, words.length);
    }

    void free() {
        for (DevicePointer p : new DevicePointer[] {chosen, routeWeights, expertStart, activeExperts, slotToken, tokenSlot, expertHidden,
                expertOut, slotHi, slotMid, slotLo}) {
            device.free(p);
        }
    }
}
