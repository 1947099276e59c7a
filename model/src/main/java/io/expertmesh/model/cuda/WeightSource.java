package io.expertmesh.model.cuda;

import io.expertmesh.model.safetensors.DType;

/** Where a {@link GpuModel}'s weights come from: a checkpoint, or random values for benchmarks. */
public interface WeightSource {
    /** The weights of the model, in an order where each MLP's gate is followed by its up and down. */
    enum Part {
        EMBEDDINGS, LM_HEAD, Q, K, V, O, DENSE_GATE, DENSE_UP, DENSE_DOWN, SHARED_GATE, SHARED_UP, SHARED_DOWN, EXPERT_GATE,
        EXPERT_UP, EXPERT_DOWN, ROUTER, CORRECTION_BIAS, INPUT_NORM, POST_ATTENTION_NORM, FINAL_NORM
    }

    /**
     * The type {@link #matrix} writes {@code part} in: BF16, or Q8_0 / Q4_K / Q6_K as GGML's blocks (one of
     * {@link GpuWeights#SUPPORTED}).
     */
    DType matrixType(Part part, int layer, int expert);

    /**
     * Writes the matrix [rows, cols] of {@code part} (of {@code expert} for routed experts), in its
     * {@link #matrixType}, to {@code dst + offset}.
     */
    void matrix(Part part, int layer, int expert, int rows, int cols, DevicePointer dst, long offset);

    /** The fp32 values of a norm, router or correction bias of {@code length} elements. */
    float[] vector(Part part, int layer, int length);

    /** Called when all of layer {@code layer} is on the device. */
    default void layerDone(int layer) {}
}
