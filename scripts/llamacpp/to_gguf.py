"""Writes an Ernie4_5_MoeForCausalLM safetensors checkpoint as a GGUF file for llama.cpp (architecture
ernie4_5-moe), keeping its BF16/F16 matrices as they are, so that llama.cpp streams the same weight
bytes per token as ExpertMesh. Norms, the router and its correction bias become F32, as llama.cpp's
own converter writes them. The vocabulary is a placeholder of the right size (256 byte tokens plus
numbered ones): the benchmark feeds token ids, never text.

Usage: python3 to_gguf.py MODEL_DIR OUT.gguf   (needs numpy and gguf==0.19.0)
"""
import json
import struct
import sys
from pathlib import Path

import gguf
import numpy as np

DTYPES = {"BF16": (np.uint16, gguf.GGMLQuantizationType.BF16), "F16": (np.float16, gguf.GGMLQuantizationType.F16),
          "F32": (np.float32, gguf.GGMLQuantizationType.F32)}


def fail(message):
    print(f"to_gguf: {message}", file=sys.stderr)
    sys.exit(1)


def read_tensors(model_dir):
    """Every tensor of the checkpoint (single file, or the shards its index names), memory-mapped."""
    index = model_dir / "model.safetensors.index.json"
    if index.exists():
        files = sorted({model_dir / f for f in json.loads(index.read_text())["weight_map"].values()})
    else:
        files = [model_dir / "model.safetensors"]
    tensors = {}
    for path in files:
        with open(path, "rb") as f:
            header_len = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(header_len))
        data = np.memmap(path, dtype=np.uint8, mode="r")
        for name, t in header.items():
            if name == "__metadata__":
                continue
            if t["dtype"] not in DTYPES:
                fail(f"{path.name}: tensor {name} has dtype {t['dtype']}; only BF16, F16 and F32 are written")
            start, end = t["data_offsets"]
            raw = data[8 + header_len + start: 8 + header_len + end]
            tensors[name] = (t["dtype"], raw.view(DTYPES[t["dtype"]][0]).reshape(t["shape"]))
    return tensors


def to_f32(dtype, array):
    if dtype == "BF16":
        return (array.astype(np.uint32) << 16).view(np.float32)
    return np.ascontiguousarray(array, dtype=np.float32)


def main():
    if len(sys.argv) != 3:
        fail("usage: to_gguf.py MODEL_DIR OUT.gguf")
    model_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    cfg = json.loads((model_dir / "config.json").read_text())
    if cfg.get("architectures", [None])[0] != "Ernie4_5_MoeForCausalLM":
        fail(f"{model_dir}/config.json: architectures is {cfg.get('architectures')}, expected Ernie4_5_MoeForCausalLM")
    tensors = read_tensors(model_dir)

    def get(name):
        if name not in tensors:
            fail(f"{model_dir}: tensor {name} is missing")
        return tensors[name]

    def matrix(gguf_name, name):
        dtype, array = get(name)
        writer.add_tensor(gguf_name, array, raw_shape=array.shape, raw_dtype=DTYPES[dtype][1])

    def f32(gguf_name, name, flat=True):
        array = to_f32(*get(name))
        writer.add_tensor(gguf_name, array.reshape(-1) if flat else array)

    layers = cfg["num_hidden_layers"]
    if cfg.get("moe_layer_end_index", -1) not in (-1, layers - 1):
        fail(f"{model_dir}/config.json: moe_layer_end_index {cfg['moe_layer_end_index']} is not the last layer; "
             "llama.cpp's ernie4_5-moe has MoE layers through the last one")
    hidden = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    rope_theta = cfg.get("rope_theta", cfg.get("rope_parameters", {}).get("rope_theta", 10000.0))
    arch = gguf.MODEL_ARCH.ERNIE4_5_MOE
    writer = gguf.GGUFWriter(out, gguf.MODEL_ARCH_NAMES[arch])
    writer.add_context_length(cfg["max_position_embeddings"])
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(cfg["intermediate_size"])
    writer.add_block_count(layers)
    writer.add_head_count(heads)
    writer.add_head_count_kv(cfg["num_key_value_heads"])
    writer.add_key_length(cfg.get("head_dim", hidden // heads))
    writer.add_value_length(cfg.get("head_dim", hidden // heads))
    writer.add_rope_freq_base(rope_theta)
    writer.add_layer_norm_rms_eps(cfg["rms_norm_eps"])
    writer.add_expert_count(cfg["moe_num_experts"])
    writer.add_expert_used_count(cfg["moe_k"])
    writer.add_interleave_moe_layer_step(cfg.get("moe_layer_interval", 1))
    writer.add_leading_dense_block_count(cfg.get("moe_layer_start_index", 0))
    writer.add_expert_feed_forward_length(cfg["moe_intermediate_size"])
    writer.add_expert_shared_count(cfg.get("moe_num_shared_experts", 0))
    writer.add_expert_shared_feed_forward_length(cfg["moe_intermediate_size"] * cfg.get("moe_num_shared_experts", 0))
    writer.add_file_type({"BF16": gguf.LlamaFileType.MOSTLY_BF16, "F16": gguf.LlamaFileType.MOSTLY_F16,
                          "F32": gguf.LlamaFileType.ALL_F32}[get("model.embed_tokens.weight")[0]])

    vocab = cfg["vocab_size"]
    tokens = [f"t{i}".encode() for i in range(vocab)]
    types = [gguf.TokenType.NORMAL] * vocab
    tokens[0], tokens[1], tokens[2] = b"<unk>", b"<s>", b"</s>"
    types[0], types[1], types[2] = gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL
    for b in range(256):
        tokens[3 + b], types[3 + b] = f"<0x{b:02X}>".encode(), gguf.TokenType.BYTE
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * vocab)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)

    matrix("token_embd.weight", "model.embed_tokens.weight")
    f32("output_norm.weight", "model.norm.weight")
    if not cfg.get("tie_word_embeddings", True):
        matrix("output.weight", "lm_head.weight")
    experts = cfg["moe_num_experts"]
    for layer in range(layers):
        hf, gg = f"model.layers.{layer}.", f"blk.{layer}."
        f32(gg + "attn_norm.weight", hf + "input_layernorm.weight")
        f32(gg + "ffn_norm.weight", hf + "post_attention_layernorm.weight")
        for proj, name in (("q_proj", "attn_q"), ("k_proj", "attn_k"), ("v_proj", "attn_v"), ("o_proj", "attn_output")):
            matrix(f"{gg}{name}.weight", f"{hf}self_attn.{proj}.weight")
        if hf + "mlp.gate_proj.weight" in tensors:
            for m in ("gate", "up", "down"):
                matrix(f"{gg}ffn_{m}.weight", f"{hf}mlp.{m}_proj.weight")
            continue
        f32(gg + "ffn_gate_inp.weight", hf + "mlp.gate.weight", flat=False)
        f32(gg + "exp_probs_b.bias", hf + "mlp.moe_statics.e_score_correction_bias")
        for m in ("gate", "up", "down"):
            parts = [get(f"{hf}mlp.experts.{e}.{m}_proj.weight") for e in range(experts)]
            stacked = np.stack([array for _, array in parts])
            writer.add_tensor(f"{gg}ffn_{m}_exps.weight", stacked, raw_shape=stacked.shape, raw_dtype=DTYPES[parts[0][0]][1])
            if cfg.get("moe_num_shared_experts", 0) > 0:
                matrix(f"{gg}ffn_{m}_shexp.weight", f"{hf}mlp.shared_experts.{m}_proj.weight")

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file(progress=True)
    writer.close()


if __name__ == "__main__":
    main()
