package io.expertmesh.model.gguf;

import io.expertmesh.model.config.ErnieConfig;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.safetensors.Tensor;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Converts a Hugging Face checkpoint to GGUF the way scripts/llamacpp/to_gguf.py does (llama.cpp's
 * names and keys for ernie4_5-moe, tensors in their own dtype), written out here name by name rather
 * than taken from {@link GgufCheckpoint}, so that a wrong name there cannot be mirrored here.
 */
final class TinyGguf {
    private static final String P = "ernie4_5-moe.";

    private TinyGguf() {}

    /** The keys to_gguf.py writes, and a token list of {@code vocabSize} placeholder tokens when asked for. */
    static Map<String, GgufValue> metadata(ErnieConfig c, boolean tokenList) {
        Map<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.string("ernie4_5-moe"));
        m.put(P + "context_length", GgufValue.uint32(c.maxPositions()));
        m.put(P + "embedding_length", GgufValue.uint32(c.hiddenSize()));
        m.put(P + "feed_forward_length", GgufValue.uint32(c.intermediateSize()));
        m.put(P + "block_count", GgufValue.uint32(c.numLayers()));
        m.put(P + "attention.head_count", GgufValue.uint32(c.numHeads()));
        m.put(P + "attention.head_count_kv", GgufValue.uint32(c.numKvHeads()));
        m.put(P + "attention.key_length", GgufValue.uint32(c.headDim()));
        m.put(P + "attention.value_length", GgufValue.uint32(c.headDim()));
        m.put(P + "rope.freq_base", GgufValue.float32((float) c.ropeTheta()));
        m.put(P + "attention.layer_norm_rms_epsilon", GgufValue.float32(c.rmsNormEps()));
        m.put(P + "expert_count", GgufValue.uint32(c.numExperts()));
        m.put(P + "expert_used_count", GgufValue.uint32(c.expertsPerToken()));
        m.put(P + "interleave_moe_layer_step", GgufValue.uint32(c.moeLayerInterval()));
        m.put(P + "leading_dense_block_count", GgufValue.uint32(c.moeLayerStart()));
        m.put(P + "expert_feed_forward_length", GgufValue.uint32(c.moeIntermediateSize()));
        m.put(P + "expert_shared_count", GgufValue.uint32(c.numSharedExperts()));
        // What llama.cpp's converter writes: intermediate_size // num_key_value_heads, not the shared width.
        m.put(P + "expert_shared_feed_forward_length", GgufValue.uint32(c.intermediateSize() / c.numKvHeads()));
        if (tokenList) {
            List<String> tokens = new ArrayList<>();
            for (int i = 0; i < c.vocabSize(); i++) tokens.add("t" + i);
            m.put("tokenizer.ggml.model", GgufValue.string("llama"));
            m.put("tokenizer.ggml.tokens", GgufValue.strings(tokens));
        }
        m.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(c.bosTokenId()));
        m.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(c.eosTokenIds().getFirst()));
        m.put("tokenizer.ggml.padding_token_id", GgufValue.uint32(c.padTokenId()));
        return m;
    }

    /** Writes {@code source}'s tensors under llama.cpp's names, the routed experts of each layer stacked. */
    static void write(Path out, Checkpoint source, ErnieConfig c, Map<String, GgufValue> metadata) {
        Map<String, List<Tensor>> parts = new LinkedHashMap<>();
        parts.put("token_embd.weight", List.of(source.tensor("model.embed_tokens.weight")));
        parts.put("output_norm.weight", List.of(source.tensor("model.norm.weight")));
        if (!c.tieWordEmbeddings()) parts.put("output.weight", List.of(source.tensor("lm_head.weight")));
        for (int l = 0; l < c.numLayers(); l++) {
            String hf = "model.layers." + l + ".", gg = "blk." + l + ".";
            parts.put(gg + "attn_norm.weight", List.of(source.tensor(hf + "input_layernorm.weight")));
            parts.put(gg + "ffn_norm.weight", List.of(source.tensor(hf + "post_attention_layernorm.weight")));
            parts.put(gg + "attn_q.weight", List.of(source.tensor(hf + "self_attn.q_proj.weight")));
            parts.put(gg + "attn_k.weight", List.of(source.tensor(hf + "self_attn.k_proj.weight")));
            parts.put(gg + "attn_v.weight", List.of(source.tensor(hf + "self_attn.v_proj.weight")));
            parts.put(gg + "attn_output.weight", List.of(source.tensor(hf + "self_attn.o_proj.weight")));
            if (!c.isMoeLayer(l)) {
                for (String m : List.of("gate", "up", "down")) parts.put(gg + "ffn_" + m + ".weight", List.of(source.tensor(hf + "mlp." + m + "_proj.weight")));
                continue;
            }
            parts.put(gg + "ffn_gate_inp.weight", List.of(source.tensor(hf + "mlp.gate.weight")));
            parts.put(gg + "exp_probs_b.bias", List.of(source.tensor(hf + "mlp.moe_statics.e_score_correction_bias")));
            for (String m : List.of("gate", "up", "down")) {
                List<Tensor> experts = new ArrayList<>();
                for (int e = 0; e < c.numExperts(); e++) experts.add(source.tensor(hf + "mlp.experts." + e + "." + m + "_proj.weight"));
                parts.put(gg + "ffn_" + m + "_exps.weight", experts);
                parts.put(gg + "ffn_" + m + "_shexp.weight", List.of(source.tensor(hf + "mlp.shared_experts." + m + "_proj.weight")));
            }
        }
        List<GgufWriter.Entry> entries = new ArrayList<>();
        for (var p : parts.entrySet()) {
            Tensor first = p.getValue().getFirst();
            long[] shape = first.shape();
            if (p.getValue().size() > 1) shape = new long[] {p.getValue().size(), shape[0], shape[1]};
            entries.add(new GgufWriter.Entry(p.getKey(), first.dtype(), shape));
        }
        GgufWriter.write(out, metadata, entries, (entry, data) -> {
            long at = 0;
            for (Tensor t : parts.get(entry.name())) {
                MemorySegment.copy(t.data(), 0, data, at, t.data().byteSize());
                at += t.data().byteSize();
            }
        });
    }
}
