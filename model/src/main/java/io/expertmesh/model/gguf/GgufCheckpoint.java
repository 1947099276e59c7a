package io.expertmesh.model.gguf;

import io.expertmesh.model.ModelFormatException;
import io.expertmesh.model.safetensors.Checkpoint;
import io.expertmesh.model.safetensors.Tensor;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An {@code ernie4_5-moe} GGUF file as a {@link Checkpoint}: its tensors under the Hugging Face names
 * that {@code WeightLoader} reads, so the forward pass is the same for both formats. The names are
 * llama.cpp's (gguf-py's tensor map, as {@code scripts/llamacpp/to_gguf.py} writes them), inverted;
 * the stacked routed experts {@code blk.N.ffn_{gate,up,down}_exps} [experts, rows, cols] are sliced
 * into one zero-copy tensor per expert.
 *
 * <p>Q and K rows are used as they are: llama.cpp runs ERNIE-4.5 with its NORM rope type (adjacent
 * pairs, like transformers' ERNIE code), so its converter ({@code Ernie4_5Model.modify_tensors}) does
 * not permute them as it does for Llama's rotate-half checkpoints.
 */
public final class GgufCheckpoint {
    public static final String ARCHITECTURE = "ernie4_5-moe";

    static final Map<String, String> GLOBAL = Map.of(
            "token_embd.weight", "model.embed_tokens.weight",
            "output_norm.weight", "model.norm.weight",
            "output.weight", "lm_head.weight");

    /** Per-layer names: blk.N.KEY becomes model.layers.N.VALUE. */
    static final Map<String, String> LAYER = Map.ofEntries(
            Map.entry("attn_norm.weight", "input_layernorm.weight"),
            Map.entry("ffn_norm.weight", "post_attention_layernorm.weight"),
            Map.entry("attn_q.weight", "self_attn.q_proj.weight"),
            Map.entry("attn_k.weight", "self_attn.k_proj.weight"),
            Map.entry("attn_v.weight", "self_attn.v_proj.weight"),
            Map.entry("attn_output.weight", "self_attn.o_proj.weight"),
            Map.entry("ffn_gate.weight", "mlp.gate_proj.weight"),
            Map.entry("ffn_up.weight", "mlp.up_proj.weight"),
            Map.entry("ffn_down.weight", "mlp.down_proj.weight"),
            Map.entry("ffn_gate_inp.weight", "mlp.gate.weight"),
            // [E] as to_gguf.py writes it, or [1, E] as convert_hf_to_gguf.py keeps it; WeightLoader.vector takes both.
            Map.entry("exp_probs_b.bias", "mlp.moe_statics.e_score_correction_bias"),
            Map.entry("ffn_gate_shexp.weight", "mlp.shared_experts.gate_proj.weight"),
            Map.entry("ffn_up_shexp.weight", "mlp.shared_experts.up_proj.weight"),
            Map.entry("ffn_down_shexp.weight", "mlp.shared_experts.down_proj.weight"));

    /** Stacked routed experts: blk.N.KEY [E, rows, cols] becomes model.layers.N.mlp.experts.E.VALUE [rows, cols]. */
    static final Map<String, String> STACKED_EXPERTS = Map.of(
            "ffn_gate_exps.weight", "gate_proj.weight",
            "ffn_up_exps.weight", "up_proj.weight",
            "ffn_down_exps.weight", "down_proj.weight");

    /** More routed experts than any MoE model has: a bound on the tensors one stacked tensor may expand into. */
    static final int MAX_EXPERTS = 1 << 16;

    private static final Pattern LAYER_NAME = Pattern.compile("blk\\.(0|[1-9][0-9]{0,8})\\.(.+)");

    private GgufCheckpoint() {}

    /** Maps {@code file} and checks it holds an ernie4_5-moe model whose every tensor has a Hugging Face name. */
    public static Checkpoint open(Path file) {
        Arena arena = Arena.ofShared();
        try {
            return Checkpoint.of(file, arena, huggingFaceTensors(GgufFile.open(file, arena)));
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** The tensors of {@code gguf} under their Hugging Face names; a tensor no ERNIE-4.5 MoE model has is refused. */
    public static Map<String, Tensor> huggingFaceTensors(GgufFile gguf) {
        requireErnie(gguf);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Tensor t : gguf.tensors().values()) {
            String global = GLOBAL.get(t.name());
            Matcher m = LAYER_NAME.matcher(t.name());
            if (global != null) {
                out.put(global, renamed(t, global));
            } else if (m.matches() && LAYER.containsKey(m.group(2))) {
                String name = "model.layers." + m.group(1) + "." + LAYER.get(m.group(2));
                out.put(name, renamed(t, name));
            } else if (m.matches() && STACKED_EXPERTS.containsKey(m.group(2))) {
                putExperts(gguf, t, "model.layers." + m.group(1) + ".mlp.experts.", STACKED_EXPERTS.get(m.group(2)), out);
            } else {
                throw new ModelFormatException(gguf.path() + ": tensor " + t.name() + " is not one of an " + ARCHITECTURE + " model");
            }
        }
        return out;
    }

    /** Refuses a file of another architecture, naming the one it has. */
    static void requireErnie(GgufFile gguf) {
        String arch = gguf.metadata().string(GgufFile.ARCHITECTURE_KEY);
        if (!arch.equals(ARCHITECTURE)) {
            throw new ModelFormatException(gguf.path() + ": metadata key " + GgufFile.ARCHITECTURE_KEY + " is \"" + arch
                    + "\"; only " + ARCHITECTURE + " (ERNIE-4.5 MoE) is supported");
        }
    }

    private static Tensor renamed(Tensor t, String name) {
        return new Tensor(name, t.dtype(), t.shape(), t.data(), t.file());
    }

    private static void putExperts(GgufFile gguf, Tensor stacked, String prefix, String suffix, Map<String, Tensor> out) {
        long[] s = stacked.shape();
        if (s.length != 3 || s[0] > MAX_EXPERTS || s[1] == 0 || s[2] == 0) {
            throw new ModelFormatException(gguf.path() + ": tensor " + stacked.name() + " should be [experts, rows, cols] with at most "
                    + MAX_EXPERTS + " experts of non-empty matrices, but its shape is " + Arrays.toString(s));
        }
        long bytes = stacked.dtype().byteSize(s[1] * s[2]);
        for (int e = 0; e < s[0]; e++) {
            String name = prefix + e + "." + suffix;
            out.put(name, new Tensor(name, stacked.dtype(), new long[] {s[1], s[2]}, stacked.data().asSlice(e * bytes, bytes), stacked.file()));
        }
    }
}
