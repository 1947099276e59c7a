package io.expertmesh.model.engine;

import io.expertmesh.model.config.ErnieConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One test sequence's own KV blocks on the heap, allocated as the sequence grows. Block {@code b}
 * has id {@code firstBlockId + b}, so on a GPU test sequences given disjoint id ranges share its KV
 * memory (the server's block ids come from a kv-store pool instead).
 */
public final class SequenceKvCache implements KvCache {
    public static final int DEFAULT_BLOCK = 16;

    private final int blockSize;
    private final int firstBlockId;
    private final int rowFloats;
    private final List<List<float[]>> keys;
    private final List<List<float[]>> values;

    public SequenceKvCache(ErnieConfig config) {
        this(config, DEFAULT_BLOCK, 0);
    }

    public SequenceKvCache(ErnieConfig config, int blockSize, int firstBlockId) {
        this.blockSize = blockSize;
        this.firstBlockId = firstBlockId;
        this.rowFloats = config.kvDim();
        this.keys = new ArrayList<>();
        this.values = new ArrayList<>();
        for (int l = 0; l < config.numLayers(); l++) {
            keys.add(new ArrayList<>());
            values.add(new ArrayList<>());
        }
    }

    @Override
    public int blockSize() {
        return blockSize;
    }

    @Override
    public void ensureCapacity(int tokens) {
        int blocks = (tokens + blockSize - 1) / blockSize;
        for (int l = 0; l < keys.size(); l++) {
            while (keys.get(l).size() < blocks) {
                keys.get(l).add(new float[blockSize * rowFloats]);
                values.get(l).add(new float[blockSize * rowFloats]);
            }
        }
    }

    @Override
    public float[] keyBlock(int layer, int block) {
        return keys.get(layer).get(block);
    }

    @Override
    public float[] valueBlock(int layer, int block) {
        return values.get(layer).get(block);
    }

    @Override
    public int blockCount() {
        return keys.isEmpty() ? 0 : keys.get(0).size();
    }

    @Override
    public int blockId(int block) {
        return firstBlockId + Objects.checkIndex(block, blockCount());
    }
}
