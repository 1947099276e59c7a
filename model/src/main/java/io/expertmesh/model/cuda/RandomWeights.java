package io.expertmesh.model.cuda;

import io.expertmesh.model.safetensors.DType;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * Deterministic random weights written on the device from a seed (uniform in ±0.02, norms 1,
 * correction bias 0): the real model's shape for benchmarks without 44 GB on disk.
 */
public record RandomWeights(Gpu device, long seed, IntConsumer onLayer) implements WeightSource {
    private static final float SCALE = 0.02f;
    private static final int FILL_BLOCKS = 4096;

    @Override
    public DType matrixType(Part part, int layer, int expert) {
        return DType.BF16;
    }

    @Override
    public void matrix(Part part, int layer, int expert, int rows, int cols, DevicePointer dst, long offset) {
        long stream = seed ^ (((long) part.ordinal() << 48) + ((long) (layer + 1) << 24) + expert + 1) * 0x9E3779B97F4A7C15L;
        device.launch("fill_random_bf16", FILL_BLOCKS, 1, 256, 0, dst.plus(offset), (long) rows * cols, stream, SCALE);
    }

    @Override
    public float[] vector(Part part, int layer, int length) {
        float[] v = new float[length];
        switch (part) {
            case ROUTER -> {
                var random = new SplittableRandom(seed + layer);
                for (int i = 0; i < length; i++) v[i] = (float) (random.nextDouble(-1, 1) * SCALE);
            }
            case CORRECTION_BIAS -> Arrays.fill(v, 0f);
            default -> Arrays.fill(v, 1f);
        }
        return v;
    }

    @Override
    public void layerDone(int layer) {
        onLayer.accept(layer);
    }
}
