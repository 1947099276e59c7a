package io.expertmesh.model.weights;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.safetensors.Tensor;
import java.util.Arrays;

/** Looks tensors up by their checkpoint names and checks dtype and shape, naming the tensor on error. */
public final class WeightLoader {
    private final Checkpoint checkpoint;
    private final ErnieConfig config;

    public WeightLoader(Checkpoint checkpoint, ErnieConfig config) {
        this.checkpoint = checkpoint;
        this.config = config;
    }

    public ErnieConfig config() {
        return config;
    }

    public static String layerPrefix(int layer) {
        return "model.layers." + layer + ".";
    }

    public WeightMatrix matrix(String name, int rows, int cols) {
        Tensor t = checked(name, rows, cols);
        return new WeightMatrix(name, t.dtype(), rows, cols, t.data());
    }

    /** A 1-D tensor of length n widened to fp32; a leading dimension of 1 ([1, n]) is accepted too. */
    public float[] vector(String name, int n) {
        Tensor t = checkpoint.tensor(name);
        long[] s = t.shape();
        boolean ok = (s.length == 1 && s[0] == n) || (s.length == 2 && s[0] == 1 && s[1] == n);
        if (!ok) throw shapeError(t, "[" + n + "]");
        requireFloat(t);
        return t.toFloatArray();
    }

    /** A matrix widened to fp32 (only for small ones such as the router). */
    public float[] floatMatrix(String name, int rows, int cols) {
        return checked(name, rows, cols).toFloatArray();
    }

    public Linear linear(String prefix, int out, int in) {
        WeightMatrix w = matrix(prefix + ".weight", out, in);
        float[] bias = config.useBias() ? vector(prefix + ".bias", out) : null;
        return new Linear(w, bias);
    }

    public MlpWeights mlp(String prefix, int intermediate) {
        int h = config.hiddenSize();
        return new MlpWeights(
                linear(prefix + ".gate_proj", intermediate, h),
                linear(prefix + ".up_proj", intermediate, h),
                linear(prefix + ".down_proj", h, intermediate));
    }

    private Tensor checked(String name, int rows, int cols) {
        Tensor t = checkpoint.tensor(name);
        long[] s = t.shape();
        if (s.length != 2 || s[0] != rows || s[1] != cols) throw shapeError(t, "[" + rows + ", " + cols + "]");
        requireFloat(t);
        return t;
    }

    private static void requireFloat(Tensor t) {
        if (!t.dtype().isWeightType()) {
            throw new ModelFormatException("tensor " + t.name() + " (in " + t.file() + "): dtype " + t.dtype()
                    + " is not supported for weights; expected BF16, F16, F32, Q8_0, Q4_0, Q4_K or Q6_K");
        }
    }

    private static ModelFormatException shapeError(Tensor t, String expected) {
        return new ModelFormatException("tensor " + t.name() + " (in " + t.file() + "): expected shape " + expected
                + ", found " + Arrays.toString(t.shape()));
    }
}
