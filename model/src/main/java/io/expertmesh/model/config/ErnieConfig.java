package io.expertmesh.model.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.ModelFormatException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The dimensions and settings of an {@code Ernie4_5_MoeForCausalLM} checkpoint, read from its
 * config.json with transformers' defaults where a key is absent.
 */
public record ErnieConfig(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        float rmsNormEps,
        double ropeTheta,
        int maxPositions,
        boolean tieWordEmbeddings,
        boolean useBias,
        int numExperts,
        int expertsPerToken,
        int moeIntermediateSize,
        int numSharedExperts,
        int moeLayerStart,
        int moeLayerEnd,
        int moeLayerInterval,
        float moeNormMin,
        int bosTokenId,
        List<Integer> eosTokenIds,
        int padTokenId) {

    private static final String ARCHITECTURE = "Ernie4_5_MoeForCausalLM";
    private static final Set<String> MODEL_TYPES = Set.of("ernie4_5_moe");

    public ErnieConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** Width of query projection output: heads × head_dim (not always the hidden size). */
    public int queryDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** All shared experts run as one MLP of this width. */
    public int sharedIntermediateSize() {
        return moeIntermediateSize * numSharedExperts;
    }

    public boolean isMoeLayer(int layer) {
        return (layer + 1) % moeLayerInterval == 0 && layer >= moeLayerStart && layer <= moeLayerEnd;
    }

    public int numMoeLayers() {
        int n = 0;
        for (int l = 0; l < numLayers; l++) {
            if (isMoeLayer(l)) n++;
        }
        return n;
    }

    public static ErnieConfig load(Path modelDir) {
        Path file = modelDir.resolve("config.json");
        return parse(Json.readTree(file), file.toString());
    }

    /** Parses a config tree; {@code source} names the file in error messages. */
    public static ErnieConfig parse(JsonNode root, String source) {
        var r = new FieldReader(root, source);
        if (!root.isObject()) throw new ModelFormatException(source + ": expected a JSON object");
        String modelType = r.string("model_type", "ernie4_5_moe");
        if (!MODEL_TYPES.contains(modelType)) {
            throw new ModelFormatException(source + ": field 'model_type' is \"" + modelType
                    + "\"; only ernie4_5_moe (" + ARCHITECTURE + ") is supported");
        }
        JsonNode arch = root.get("architectures");
        if (arch != null && arch.isArray() && !arch.isEmpty()) {
            boolean found = false;
            for (JsonNode a : arch) found |= ARCHITECTURE.equals(a.asText());
            if (!found) {
                throw new ModelFormatException(source + ": field 'architectures' is " + arch
                        + "; only " + ARCHITECTURE + " is supported");
            }
        }
        String act = r.string("hidden_act", "silu");
        if (!act.equals("silu")) {
            throw new ModelFormatException(source + ": field 'hidden_act' is \"" + act + "\"; only silu is supported");
        }
        refuseIfSet(root, source, "rope_scaling", "rope scaling is not supported");
        refuseIfSet(root, source, "sliding_window", "sliding-window attention is not supported");
        refuseIfSet(root, source, "use_qk_norm", "qk-norm is not supported");

        double ropeTheta = 500000.0;
        JsonNode ropeParams = root.get("rope_parameters");
        if (ropeParams != null && !ropeParams.isNull()) {
            if (!ropeParams.isObject()) {
                throw new ModelFormatException(source + ": field 'rope_parameters' must be an object");
            }
            var rp = new FieldReader(ropeParams, source + " rope_parameters");
            String type = rp.string("rope_type", "default");
            if (!type.equals("default")) {
                throw new ModelFormatException(source + ": field 'rope_parameters.rope_type' is \"" + type
                        + "\"; only \"default\" RoPE is supported");
            }
            ropeTheta = rp.positiveDouble("rope_theta", ropeTheta);
        }
        ropeTheta = r.positiveDouble("rope_theta", ropeTheta);

        int hidden = r.positiveInt("hidden_size", 2560);
        int layers = r.positiveInt("num_hidden_layers", 28);
        int heads = r.positiveInt("num_attention_heads", 20);
        int kvHeads = r.positiveInt("num_key_value_heads", heads);
        if (heads % kvHeads != 0) {
            throw new ModelFormatException(source + ": field 'num_attention_heads' (" + heads
                    + ") must be a multiple of 'num_key_value_heads' (" + kvHeads + ")");
        }
        int headDim;
        if (root.hasNonNull("head_dim")) {
            headDim = r.positiveInt("head_dim", 0);
        } else {
            if (hidden % heads != 0) {
                throw new ModelFormatException(source + ": 'head_dim' is absent and 'hidden_size' (" + hidden
                        + ") is not a multiple of 'num_attention_heads' (" + heads + ")");
            }
            headDim = hidden / heads;
        }
        if (headDim % 2 != 0) {
            throw new ModelFormatException(source + ": field 'head_dim' must be even for RoPE, got " + headDim);
        }
        int experts = r.positiveInt(r.has("moe_num_experts") ? "moe_num_experts" : "num_experts", 64);
        int k = r.positiveInt(r.has("moe_k") ? "moe_k" : "num_experts_per_tok", 6);
        if (k > experts) {
            throw new ModelFormatException(source + ": field 'moe_k' (" + k + ") exceeds 'moe_num_experts' (" + experts + ")");
        }
        int moeStart = r.nonNegativeInt("moe_layer_start_index", 1);
        int moeEnd = r.integer("moe_layer_end_index", -1);
        if (moeEnd == -1) moeEnd = layers - 1;
        if (moeEnd < -1) {
            throw new ModelFormatException(source + ": field 'moe_layer_end_index' must be -1 or a layer index, got " + moeEnd);
        }
        int interval = r.positiveInt("moe_layer_interval", 1);

        List<Integer> eos = new ArrayList<>();
        JsonNode eosNode = root.get("eos_token_id");
        if (eosNode == null || eosNode.isNull()) {
            eos.add(2);
        } else if (eosNode.isArray()) {
            for (JsonNode e : eosNode) eos.add(intValue(e, "eos_token_id", source));
        } else {
            eos.add(intValue(eosNode, "eos_token_id", source));
        }

        return new ErnieConfig(
                r.positiveInt("vocab_size", 103424),
                hidden,
                r.positiveInt("intermediate_size", 12288),
                layers,
                heads,
                kvHeads,
                headDim,
                (float) r.positiveDouble("rms_norm_eps", 1e-5),
                ropeTheta,
                r.positiveInt("max_position_embeddings", 131072),
                r.bool("tie_word_embeddings", true),
                r.bool("use_bias", false),
                experts,
                k,
                r.positiveInt("moe_intermediate_size", 1536),
                r.nonNegativeInt("moe_num_shared_experts", 2),
                moeStart,
                moeEnd,
                interval,
                (float) r.positiveDouble("moe_norm_min", 1e-12),
                r.integer("bos_token_id", 1),
                eos,
                r.integer("pad_token_id", 0));
    }

    private static void refuseIfSet(JsonNode root, String source, String key, String why) {
        JsonNode v = root.get(key);
        if (v != null && !v.isNull() && !(v.isBoolean() && !v.asBoolean())) {
            throw new ModelFormatException(source + ": field '" + key + "' is set (" + v + "); " + why);
        }
    }

    private static int intValue(JsonNode n, String key, String source) {
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new ModelFormatException(source + ": field '" + key + "' must be an integer, got " + n);
        }
        return n.intValue();
    }

    /** Typed access to config fields with messages that name the field. */
    private record FieldReader(JsonNode node, String source) {
        boolean has(String key) {
            return node.hasNonNull(key);
        }

        int integer(String key, int dflt) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return dflt;
            return intValue(v, key, source);
        }

        int positiveInt(String key, int dflt) {
            int v = integer(key, dflt);
            if (v <= 0) throw new ModelFormatException(source + ": field '" + key + "' must be positive, got " + v);
            return v;
        }

        int nonNegativeInt(String key, int dflt) {
            int v = integer(key, dflt);
            if (v < 0) throw new ModelFormatException(source + ": field '" + key + "' must not be negative, got " + v);
            return v;
        }

        double positiveDouble(String key, double dflt) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return dflt;
            if (!v.isNumber() || !(v.asDouble() > 0) || Double.isInfinite(v.asDouble())) {
                throw new ModelFormatException(source + ": field '" + key + "' must be a positive number, got " + v);
            }
            return v.asDouble();
        }

        boolean bool(String key, boolean dflt) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return dflt;
            if (!v.isBoolean()) throw new ModelFormatException(source + ": field '" + key + "' must be true or false, got " + v);
            return v.asBoolean();
        }

        String string(String key, String dflt) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) return dflt;
            if (!v.isTextual()) throw new ModelFormatException(source + ": field '" + key + "' must be a string, got " + v);
            return v.asText();
        }
    }
}
