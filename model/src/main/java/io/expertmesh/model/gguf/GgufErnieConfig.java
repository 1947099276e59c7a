package io.expertmesh.model.gguf;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.expertmesh.model.Json;
import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.config.ErnieConfig;

/**
 * An {@link ErnieConfig} from the metadata of an {@code ernie4_5-moe} GGUF file, with llama.cpp's
 * meaning of each key. The keys are translated to the config.json fields they came from and parsed
 * by {@link ErnieConfig#parse}, so both formats share one set of defaults and checks.
 */
public final class GgufErnieConfig {
    private static final String P = GgufCheckpoint.ARCHITECTURE + ".";
    /** llama.cpp's rope base when a file names none (transformers' ERNIE default is 500000: a converter always writes it). */
    private static final float LLAMA_CPP_ROPE_FREQ_BASE = 10000f;
    static final String TOKENS_KEY = "tokenizer.ggml.tokens";

    private GgufErnieConfig() {}

    public static ErnieConfig from(GgufFile gguf) {
        GgufCheckpoint.requireErnie(gguf);
        GgufMetadata m = gguf.metadata();
        int heads = m.integer(P + "attention.head_count");
        int hidden = m.integer(P + "embedding_length");
        ObjectNode c = Json.MAPPER.createObjectNode();
        c.put("vocab_size", vocabSize(gguf));
        c.put("hidden_size", hidden);
        c.put("intermediate_size", m.integer(P + "feed_forward_length"));
        c.put("num_hidden_layers", m.integer(P + "block_count"));
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", m.has(P + "attention.head_count_kv") ? m.integer(P + "attention.head_count_kv") : heads);
        if (m.has(P + "attention.key_length")) {
            int keyLength = m.integer(P + "attention.key_length");
            requireEqual(gguf, "attention.value_length", keyLength, "key_length: values and keys must have the same head size");
            requireEqual(gguf, "rope.dimension_count", keyLength, "key_length: RoPE must rotate the whole head");
            c.put("head_dim", keyLength);
        }
        c.put("rms_norm_eps", m.number(P + "attention.layer_norm_rms_epsilon"));
        c.put("rope_theta", m.has(P + "rope.freq_base") ? m.number(P + "rope.freq_base") : LLAMA_CPP_ROPE_FREQ_BASE);
        if (m.has(P + "rope.scaling.type") && !m.string(P + "rope.scaling.type").equals("none")) {
            throw new ModelFormatException(gguf.path() + ": metadata key " + P + "rope.scaling.type is \""
                    + m.string(P + "rope.scaling.type") + "\"; rope scaling is not supported");
        }
        c.put("max_position_embeddings", m.integer(P + "context_length"));
        c.put("tie_word_embeddings", !gguf.tensors().containsKey("output.weight"));
        c.put("use_bias", false);
        c.put("moe_num_experts", m.integer(P + "expert_count"));
        c.put("moe_k", m.integer(P + "expert_used_count"));
        c.put("moe_intermediate_size", m.integer(P + "expert_feed_forward_length"));
        // expert_shared_feed_forward_length is not read: llama.cpp's converter writes intermediate_size // num_key_value_heads
        // there, right for the 21B model only by chance; the shared experts' tensors have the true width.
        c.put("moe_num_shared_experts", m.has(P + "expert_shared_count") ? m.integer(P + "expert_shared_count") : 0);
        c.put("moe_layer_start_index", m.integer(P + "leading_dense_block_count"));
        c.put("moe_layer_interval", m.integer(P + "interleave_moe_layer_step"));
        c.put("moe_layer_end_index", -1);
        if (m.has("tokenizer.ggml.bos_token_id")) c.put("bos_token_id", m.integer("tokenizer.ggml.bos_token_id"));
        if (m.has("tokenizer.ggml.eos_token_id")) c.put("eos_token_id", m.integer("tokenizer.ggml.eos_token_id"));
        if (m.has("tokenizer.ggml.padding_token_id")) c.put("pad_token_id", m.integer("tokenizer.ggml.padding_token_id"));
        return ErnieConfig.parse(c, gguf.path() + " (its GGUF metadata as config.json fields)");
    }

    /** The length of the token list, or the rows of the embedding when the file has no token list. */
    private static int vocabSize(GgufFile gguf) {
        if (gguf.metadata().has(TOKENS_KEY)) return gguf.metadata().length(TOKENS_KEY);
        var embedding = gguf.tensors().get("token_embd.weight");
        if (embedding == null || embedding.shape().length != 2 || embedding.shape()[0] > Integer.MAX_VALUE) {
            throw new ModelFormatException(gguf.path() + ": neither metadata key " + TOKENS_KEY
                    + " nor a 2-dimensional tensor token_embd.weight tells the vocabulary size");
        }
        return (int) embedding.shape()[0];
    }

    private static void requireEqual(GgufFile gguf, String key, int expected, String why) {
        if (gguf.metadata().has(P + key) && gguf.metadata().integer(P + key) != expected) {
            throw new ModelFormatException(gguf.path() + ": metadata key " + P + key + " is " + gguf.metadata().integer(P + key)
                    + ", not " + expected + " as " + why);
        }
    }
}
