package io.expertmesh.model.kernels;

import java.util.List;
import java.util.function.IntConsumer;

/**
 * The compute operations the forward pass is written against. A backend is chosen at run time;
 * the CPU one ({@link CpuBackend}) uses the Vector API on a fixed thread pool.
 */
public interface KernelBackend extends AutoCloseable {
    String name();

    int threads();

    /** Runs all products in one parallel pass: {@code out = x · Wᵀ + bias} for each. */
    void matmul(List<MatMul> products);

    /** {@code out[r] = weight ⊙ (x[r] · rsqrt(mean(x[r]²) + eps))}, computed in fp32. */
    void rmsNorm(FloatMatrix x, float[] weight, float eps, FloatMatrix out);

    /** One {@link CausalAttention}, on the calling thread: a task of {@link #parallelFor}. */
    void attention(CausalAttention a);

    /** {@code gates[i] ← silu(gates[i]) ⊙ ups[i]}, element-wise, for every pair in one parallel pass. */
    void swiglu(List<FloatMatrix> gates, List<FloatMatrix> ups);

    /** Runs {@code body.accept(i)} for i in [0, tasks) on the backend's threads. */
    void parallelFor(int tasks, IntConsumer body);

    @Override
    void close();
}
