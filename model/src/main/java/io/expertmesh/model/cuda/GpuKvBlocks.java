package io.expertmesh.model.cuda;

import io.expertmesh.model.config.ErnieConfig;

/**
 * Every layer's keys and values in device memory, fp32, in blocks of {@link #BLOCK} positions.
 * Block ids are those of a kv-store pool of as many blocks (a
 * {@code KvBlockPool.deviceResident} pool), which hands them to sequences; the GPU keeps no free
 * list of its own.
 */
public final class GpuKvBlocks {
    public static final int BLOCK = 16;

    private final int blocks;
    final DevicePointer[] keys;
    final DevicePointer[] values;

    private GpuKvBlocks(Gpu device, ErnieConfig config, int blocks) {
        this.blocks = blocks;
        long bytes = 4L * blocks * BLOCK * config.kvDim();
        keys = new DevicePointer[config.numLayers()];
        values = new DevicePointer[config.numLayers()];
        device.makeCurrent();
        for (int l = 0; l < config.numLayers(); l++) {
            keys[l] = device.allocate(bytes);
            values[l] = device.allocate(bytes);
        }
    }

    /** Allocates {@code blocks} blocks on {@code device}. */
    public static GpuKvBlocks allocate(Gpu device, ErnieConfig config, int blocks) {
        if (blocks < 1) throw new IllegalArgumentException("a GPU KV cache needs at least one block, got " + blocks);
        return new GpuKvBlocks(device, config, blocks);
    }

    /** Blocks enough for {@code tokens} positions. */
    public static int blocksFor(int tokens) {
        return (tokens + BLOCK - 1) / BLOCK;
    }

    public int blocks() {
        return blocks;
    }
}
