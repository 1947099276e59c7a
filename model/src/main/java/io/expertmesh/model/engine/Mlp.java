package io.expertmesh.model.engine;

import io.expertmesh.model.kernels.FloatMatrix;
import io.expertmesh.model.kernels.KernelBackend;
import io.expertmesh.model.kernels.MatMul;
import io.expertmesh.model.weights.MlpWeights;
import java.util.List;

/** The SwiGLU MLP shared by dense layers, routed experts' callers and the shared expert: down(silu(gate·x) ⊙ up·x). */
public final class Mlp {
    private Mlp() {}

    public static FloatMatrix swiglu(KernelBackend backend, FloatMatrix h, MlpWeights w) {
        FloatMatrix gate = FloatMatrix.zeros(h.rows(), w.intermediateSize());
        FloatMatrix up = FloatMatrix.zeros(h.rows(), w.intermediateSize());
        backend.matmul(List.of(new MatMul(h, w.gate(), gate), new MatMul(h, w.up(), up)));
        backend.swiglu(List.of(gate), List.of(up));
        FloatMatrix out = FloatMatrix.zeros(h.rows(), h.cols());
        backend.matmul(List.of(new MatMul(gate, w.down(), out)));
        return out;
    }

    /** {@code x += y}, element by element. */
    public static void addInPlace(FloatMatrix x, FloatMatrix y) {
        float[] a = x.data();
        float[] b = y.data();
        int n = x.rows() * x.cols();
        for (int i = 0; i < n; i++) a[i] += b[i];
    }
}
