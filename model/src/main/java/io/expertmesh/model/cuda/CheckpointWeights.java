package io.expertmesh.model.cuda;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.safetensors.DType;
import io.expertmesh.model.weights.ErnieWeights;
import io.expertmesh.model.weights.LayerWeights;
import io.expertmesh.model.weights.RoutedExpertWeights;
import io.expertmesh.model.weights.WeightMatrix;
import java.util.function.IntConsumer;

/** A mapped checkpoint's weights, copied to the device as they are (BF16 matrices, or a GGUF file's Q8_0 / Q4_K / Q6_K blocks). */
public record CheckpointWeights(Gpu device, ErnieWeights weights, RoutedExpertWeights experts, IntConsumer onLayer)
        implements WeightSource {

    @Override
    public DType matrixType(Part part, int layer, int expert) {
        return GpuWeights.deviceType(weightMatrix(part, layer, expert));
    }

    @Override
    public void matrix(Part part, int layer, int expert, int rows, int cols, DevicePointer dst, long offset) {
        WeightMatrix m = weightMatrix(part, layer, expert);
        GpuWeights.deviceType(m);
        if (m.rows() != rows || m.cols() != cols) {
            throw new ModelFormatException(m.name() + ": expected shape [" + rows + ", " + cols + "], found [" + m.rows() + ", " + m.cols() + "]");
        }
        device.copyIn(dst.plus(offset), m.data());
    }

    private WeightMatrix weightMatrix(Part part, int layer, int expert) {
        return switch (part) {
            case EMBEDDINGS -> weights.embeddings();
            case LM_HEAD -> weights.lmHead().weight();
            case Q -> layer(layer).attention().q().weight();
            case K -> layer(layer).attention().k().weight();
            case V -> layer(layer).attention().v().weight();
            case O -> layer(layer).attention().o().weight();
            case DENSE_GATE -> layer(layer).denseMlp().gate().weight();
            case DENSE_UP -> layer(layer).denseMlp().up().weight();
            case DENSE_DOWN -> layer(layer).denseMlp().down().weight();
            case SHARED_GATE -> layer(layer).moe().shared().gate().weight();
            case SHARED_UP -> layer(layer).moe().shared().up().weight();
            case SHARED_DOWN -> layer(layer).moe().shared().down().weight();
            case EXPERT_GATE -> experts.expert(layer, expert).gate().weight();
            case EXPERT_UP -> experts.expert(layer, expert).up().weight();
            case EXPERT_DOWN -> experts.expert(layer, expert).down().weight();
            default -> throw new IllegalArgumentException(part + " is not a matrix");
        };
    }

    @Override
    public float[] vector(Part part, int layer, int length) {
        float[] v = switch (part) {
            case ROUTER -> layer(layer).moe().router();
            case CORRECTION_BIAS -> layer(layer).moe().correctionBias();
            case INPUT_NORM -> layer(layer).inputNorm();
            case POST_ATTENTION_NORM -> layer(layer).postAttentionNorm();
            case FINAL_NORM -> weights.finalNorm();
            default -> throw new IllegalArgumentException(part + " is not a vector");
        };
        if (v.length != length) throw new IllegalStateException(part + " of layer " + layer + " has " + v.length + " values, not " + length);
        return v;
    }

    @Override
    public void layerDone(int layer) {
        onLayer.accept(layer);
    }

    private LayerWeights layer(int l) {
        return weights.layers().get(l);
    }
}
