package io.expertmesh.model.cuda;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.safetensors.DType;

/**
 * The routed-expert part of a MoE layer on a GPU, shared by {@link GpuModel} (every expert local)
 * and {@link GpuRoutedExperts} (an expert host's experts): group the step's choices by expert,
 * gate/up and down of every expert with tokens in one launch each, then {@code out += Σ w · y} per
 * row in ascending expert id (plus the shared expert's output when given). With many rows the BF16
 * products run on the tensor cores; block-quantized experts always take the one-warp-per-row
 * kernels of their type. Buffers are sized for up to {@code capacity} rows.
 */
final class RoutedExpertLaunches {
    private static final int THREADS = 256;
    private static final int SMALL_ROWS = 8;

    /**
     * Tables of each expert's gate, up and down matrices for one layer (device addresses, 0 = absent),
     * with the type of every gate and up matrix and of every down matrix.
     */
    record ExpertTables(DevicePointer gate, DevicePointer up, DevicePointer down, DType gateUpType, DType downType) {
        ExpertTables withTypes(DType gateUp, DType down) {
            return new ExpertTables(gate, up, this.down, gateUp, down);
        }
    }

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
        boolean bf16 = tables.gateUpType() == DType.BF16 && tables.downType() == DType.BF16;
        if (bf16 && rows > SMALL_ROWS && inter % 16 == 0 && d % 16 == 0) {
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
            String gateUp = switch (tables.gateUpType()) {
                case BF16 -> "experts_gate_up";
                case Q8_0 -> "experts_gate_up_q8_0";
                case Q4_K -> "experts_gate_up_q4_k";
                case Q6_K -> "experts_gate_up_q6_k";
                default -> throw unsupported(tables.gateUpType());
            };
            String down = switch (tables.downType()) {
                case BF16 -> "experts_down";
                case Q8_0 -> "experts_down_q8_0";
                case Q4_K -> "experts_down_q4_k";
                case Q6_K -> "experts_down_q6_k";
                default -> throw unsupported(tables.downType());
            };
            device.launch(gateUp, (inter + 7) / 8, activeBound, THREADS, 0, tables.gate(), tables.up(), x, expertStart,
                    activeExperts, slotToken, expertHidden, inter, d, experts);
            device.launch(down, (d + 7) / 8, activeBound, THREADS, 0, tables.down(), expertHidden, expertStart, activeExperts,
                    expertOut, d, inter, experts);
        }
        device.launch("moe_combine", rows, 1, THREADS, 0, expertOut, tokenSlot, chosen, routeWeights, shared, out, k, d);
    }

    static ModelFormatException unsupported(DType type) {
        return new ModelFormatException("the CUDA kernels read BF16, Q8_0, Q4_K and Q6_K weights, not " + type);
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
