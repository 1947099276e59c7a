package io.expertmesh.model.engine;

import io.expertmesh.model.config.ErnieConfig;
import java.util.ArrayList;
import java.util.List;

/** A sequence's own KV blocks on the heap, allocated as the sequence grows. */
public final class SequenceKvCache implements KvCache {
    public static final int DEFAULT_BLOCK = 16;

    private final int blockSize;
    private final int rowFloats;
    private final List<List<float[]>> keys;
    private final List<List<float[]>> values;

    public SequenceKvCache(ErnieConfig config) {
        this(config, DEFAULT_BLOCK);
    }

    public SequenceKvCache(ErnieConfig config, int blockSize) {
        this.blockSize = blockSize;
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
}
