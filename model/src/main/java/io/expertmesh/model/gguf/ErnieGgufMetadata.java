package io.expertmesh.model.gguf;

import io.expertmesh.model.config.ErnieConfig;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The metadata of an {@code ernie4_5-moe} GGUF file written here: {@code general.*} and every
 * architecture key llama.cpp reads for this model, the keys and value types of
 * {@code scripts/llamacpp/to_gguf.py} (gguf-py's writer), then the tokenizer's {@code tokenizer.*}
 * entries so that the file serves on its own.
 */
public final class ErnieGgufMetadata {
    /** ggml's GGML_QNT_VERSION: the block layouts of the quantized types written here. */
    static final int QUANTIZATION_VERSION = 2;

    private ErnieGgufMetadata() {}

    public static Map<String, GgufValue> of(String name, ErnieConfig c, GgufFileType fileType, Map<String, GgufValue> tokenizer) {
        String p = GgufCheckpoint.ARCHITECTURE + ".";
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put(GgufFile.ARCHITECTURE_KEY, GgufValue.string(GgufCheckpoint.ARCHITECTURE));
        m.put("general.name", GgufValue.string(name));
        m.put("general.file_type", GgufValue.uint32(fileType.llamaFileType()));
        m.put("general.quantization_version", GgufValue.uint32(QUANTIZATION_VERSION));
        m.put(p + "context_length", GgufValue.uint32(c.maxPositions()));
        m.put(p + "embedding_length", GgufValue.uint32(c.hiddenSize()));
        m.put(p + "feed_forward_length", GgufValue.uint32(c.intermediateSize()));
        m.put(p + "block_count", GgufValue.uint32(c.numLayers()));
        m.put(p + "attention.head_count", GgufValue.uint32(c.numHeads()));
        m.put(p + "attention.head_count_kv", GgufValue.uint32(c.numKvHeads()));
        m.put(p + "attention.key_length", GgufValue.uint32(c.headDim()));
        m.put(p + "attention.value_length", GgufValue.uint32(c.headDim()));
        m.put(p + "rope.freq_base", GgufValue.float32((float) c.ropeTheta()));
        m.put(p + "attention.layer_norm_rms_epsilon", GgufValue.float32(c.rmsNormEps()));
        m.put(p + "expert_count", GgufValue.uint32(c.numExperts()));
        m.put(p + "expert_used_count", GgufValue.uint32(c.expertsPerToken()));
        m.put(p + "interleave_moe_layer_step", GgufValue.uint32(c.moeLayerInterval()));
        m.put(p + "leading_dense_block_count", GgufValue.uint32(c.moeLayerStart()));
        m.put(p + "expert_feed_forward_length", GgufValue.uint32(c.moeIntermediateSize()));
        m.put(p + "expert_shared_count", GgufValue.uint32(c.numSharedExperts()));
        m.put(p + "expert_shared_feed_forward_length", GgufValue.uint32(c.sharedIntermediateSize()));
        m.putAll(tokenizer);
        return m;
    }
}
