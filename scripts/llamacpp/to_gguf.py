"""Writes an Ernie4_5_MoeForCausalLM safetensors checkpoint as a GGUF file for llama.cpp (architecture
ernie4_5-moe), keeping its BF16/F16 matrices as they are, so that llama.cpp streams the same weight
bytes per token as ExpertMesh. Norms, the router and its correction bias become F32, as llama.cpp's
own converter writes them. The vocabulary is the one llama.cpp's converter writes from tokenizer.model and
tokenizer_config.json (see add_vocab), so that llama.cpp tokenizes text as transformers does; a directory
without tokenizer.model (a random-weights test model) gets a placeholder of the right size instead.

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

# SentencePiece piece types, as the proto and GGUF's tokenizer.ggml.token_type number them.
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
# gguf-py SpecialVocab's special-token types, in its order.
SPECIAL_TYPES = ("bos", "eos", "unk", "sep", "pad", "cls", "mask")


def protobuf_fields(data, where):
    """(field number, wire type, value) of each field of one protobuf message."""
    i = 0

    def varint():
        nonlocal i
        value, shift = 0, 0
        while True:
            if i >= len(data) or shift > 63:
                fail(f"{where}: truncated or overlong varint at byte {i}")
            byte = data[i]
            i += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while i < len(data):
        tag = varint()
        wire = tag & 7
        if wire == 0:
            value = varint()
        elif wire in (1, 2, 5):
            n = {1: 8, 5: 4}.get(wire) or varint()
            if i + n > len(data):
                fail(f"{where}: field {tag >> 3} claims {n} bytes, but {len(data) - i} are left")
            value, i = data[i:i + n], i + n
        else:
            fail(f"{where}: unsupported protobuf wire type {wire}")
        yield tag >> 3, wire, value


def read_sentencepiece(path):
    """(text, score, type) of each piece of a SentencePiece tokenizer.model. The protobuf is parsed here rather
    than through sentencepiece, whose Python API cannot tell user-defined pieces from normal ones."""
    pieces = []
    for field, wire, value in protobuf_fields(path.read_bytes(), path):
        if field == 1 and wire == 2:
            text, score, kind = None, 0.0, NORMAL
            for f, w, v in protobuf_fields(value, f"{path} piece {len(pieces)}"):
                if f == 1 and w == 2:
                    text = v.decode("utf-8")
                elif f == 2 and w == 5:
                    score = struct.unpack("<f", v)[0]
                elif f == 3 and w == 0:
                    kind = v
            if text is None or not NORMAL <= kind <= BYTE:
                fail(f"{path}: piece {len(pieces)} has no text or an unknown type {kind}")
            pieces.append((text, score, kind))
        elif field == 2 and wire == 2:
            model_type = next((v for f, w, v in protobuf_fields(value, f"{path} trainer_spec") if f == 3 and w == 0), 1)
            if model_type != 2:
                fail(f"{path}: trainer_spec.model_type is {model_type}, not BPE (2)")
    return pieces


def special_content(tokenizer_config, kind):
    entry = tokenizer_config.get(f"{kind}_token")
    if isinstance(entry, dict):
        entry = entry.get("content")
    return entry if isinstance(entry, str) else None


def looks_special(text):
    """llama.cpp's does_token_look_special."""
    return (text in ("<pad>", "<mask>", "<2mass>", "[@BOS@]") or (text.startswith("<|") and text.endswith("|>"))
            or (text.startswith("<\uff5c") and text.endswith("\uff5c>")) or (text.startswith("<unused") and text.endswith(">")))


def add_vocab(writer, model_dir, cfg):
    """The vocabulary llama.cpp's convert_hf_to_gguf.py writes for ERNIE-4.5 (_set_vocab_sentencepiece, gguf-py's
    SpecialVocab, then add_space_prefix from tokenizer_config.json's add_prefix_space), with two differences so
    that llama.cpp splits text as transformers does: a user-defined piece of tokenizer.model stays USER_DEFINED
    (llama.cpp's converter writes it NORMAL and then BPE-splits it), and a token that tokenizer_config.json names
    as a special token (cls_token, sep_token, ...) is CONTROL. ExpertMesh's GgufTokenizerMetadata writes the same."""
    pieces = read_sentencepiece(model_dir / "tokenizer.model")
    config_path = model_dir / "tokenizer_config.json"
    tokenizer_config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    named = {c for c in (special_content(tokenizer_config, kind) for kind in SPECIAL_TYPES) if c is not None}
    vocab = cfg.get("vocab_size") or len(pieces)
    tokens = [f"[PAD{i}]" for i in range(vocab)]
    scores = [-10000.0] * vocab
    types = [UNUSED] * vocab
    for i, (text, score, kind) in enumerate(pieces[:vocab]):
        tokens[i], scores[i] = text, score
        types[i] = CONTROL if kind == USER_DEFINED and text in named else kind
    added_path = model_dir / "added_tokens.json"
    if added_path.is_file():
        for text, i in json.loads(added_path.read_text()).items():
            if i < vocab:
                tokens[i], scores[i], types[i] = text, -1000.0, CONTROL if text in named else USER_DEFINED
    for key, data in tokenizer_config.get("added_tokens_decoder", {}).items():
        i, text = int(key), data["content"]
        if i >= vocab:
            continue
        if data.get("special") or looks_special(text) or text in named:
            types[i] = CONTROL
        else:
            text, types[i] = text.replace("\u2581", " "), USER_DEFINED
        tokens[i], scores[i] = text, -1000.0
    writer.add_tokenizer_model("llama")
    writer.add_tokenizer_pre("default")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    gguf.SpecialVocab(model_dir, n_vocab=len(tokens)).add_to_gguf(writer)
    if isinstance(tokenizer_config.get("add_prefix_space"), bool):
        writer.add_add_space_prefix(tokenizer_config["add_prefix_space"])


def add_placeholder_vocab(writer, vocab):
    """256 byte tokens plus numbered ones, for checkpoints that ship no tokenizer: enough to run token ids."""
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

    if (model_dir / "tokenizer.model").is_file():
        add_vocab(writer, model_dir, cfg)
    else:
        add_placeholder_vocab(writer, cfg["vocab_size"])

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
