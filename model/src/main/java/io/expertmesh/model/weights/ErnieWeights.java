package io.expertmesh.model.weights;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.safetensors.Checkpoint;
import java.util.ArrayList;
import java.util.List;

/**
 * The weights the attention side of the model needs: embeddings, every layer's norms and attention,
 * the dense MLP, each MoE layer's router and shared expert, the final norm and the LM head (the
 * embedding matrix itself when embeddings are tied). Routed experts are in {@link RoutedExpertWeights}.
 */
public record ErnieWeights(
        ErnieConfig config, WeightMatrix embeddings, List<LayerWeights> layers, float[] finalNorm, Linear lmHead) {

    public ErnieWeights {
        layers = List.copyOf(layers);
    }

    public static ErnieWeights load(Checkpoint checkpoint, ErnieConfig config) {
        var loader = new WeightLoader(checkpoint, config);
        int h = config.hiddenSize();
        WeightMatrix embeddings = loader.matrix("model.embed_tokens.weight", config.vocabSize(), h);
        List<LayerWeights> layers = new ArrayList<>(config.numLayers());
        for (int l = 0; l < config.numLayers(); l++) {
            String p = WeightLoader.layerPrefix(l);
            var attention = new AttentionWeights(
                    loader.linear(p + "self_attn.q_proj", config.queryDim(), h),
                    loader.linear(p + "self_attn.k_proj", config.kvDim(), h),
                    loader.linear(p + "self_attn.v_proj", config.kvDim(), h),
                    loader.linear(p + "self_attn.o_proj", h, config.queryDim()));
            MlpWeights dense = null;
            MoeWeights moe = null;
            if (config.isMoeLayer(l)) {
                MlpWeights shared = config.numSharedExperts() > 0
                        ? loader.mlp(p + "mlp.shared_experts", config.sharedIntermediateSize())
                        : null;
                moe = new MoeWeights(
                        loader.floatMatrix(p + "mlp.gate.weight", config.numExperts(), h),
                        loader.vector(p + "mlp.moe_statics.e_score_correction_bias", config.numExperts()),
                        shared);
            } else {
                dense = loader.mlp(p + "mlp", config.intermediateSize());
            }
            layers.add(new LayerWeights(
                    loader.vector(p + "input_layernorm.weight", h),
                    loader.vector(p + "post_attention_layernorm.weight", h),
                    attention, dense, moe));
        }
        float[] finalNorm = loader.vector("model.norm.weight", h);
        Linear lmHead = new Linear(config.tieWordEmbeddings()
                ? embeddings
                : loader.matrix("lm_head.weight", config.vocabSize(), h), null);
        return new ErnieWeights(config, embeddings, layers, finalNorm, lmHead);
    }
}
