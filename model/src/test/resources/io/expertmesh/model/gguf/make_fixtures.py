"""Writes the GGUF test fixtures beside this script (run it from anywhere; needs numpy, gguf==0.19.0):

every-type.gguf   gguf-py's GGUFWriter: metadata of every value type, scalars and arrays, general.alignment 64,
                  and tensors of each readable GGML type (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K) with 1 to 4
                  dimensions. Tensor bytes follow pattern(i) = (i * MUL + ADD) & 0xFF, MUL and ADD per tensor below.
tiny-moe/         a two-layer Ernie4_5_MoeForCausalLM checkpoint with random weights (config.json, model.safetensors:
                  BF16 matrices and norms, F32 router and correction bias, untied lm_head)
tiny-moe.gguf     tiny-moe converted by scripts/llamacpp/to_gguf.py, the repo's llama.cpp converter, so that a test can
                  check the GGUF path reads llama.cpp's names and layouts back into the same logits.
"""
import json
import struct
import subprocess
import sys
from pathlib import Path

import gguf
import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[7]
T = gguf.GGUFValueType
Q = gguf.GGMLQuantizationType

# name -> (GGML type, numpy shape in elements, MUL, ADD); the Java test holds the same table.
PATTERNED = {
    "q8_0": (Q.Q8_0, (3, 64), 7, 1),
    "q4_0": (Q.Q4_0, (2, 32), 5, 2),
    "q4_k": (Q.Q4_K, (2, 256), 11, 3),
    "q6_k": (Q.Q6_K, (1, 256), 13, 4),
    "bf16": (Q.BF16, (2, 3), 17, 5),
}


def pattern(n, mul, add):
    return ((np.arange(n, dtype=np.int64) * mul + add) & 0xFF).astype(np.uint8)


def every_type():
    w = gguf.GGUFWriter(HERE / "every-type.gguf", "every-type")
    w.add_custom_alignment(64)
    w.add_uint8("test.uint8", 255)
    w.add_int8("test.int8", -128)
    w.add_uint16("test.uint16", 65535)
    w.add_int16("test.int16", -32768)
    w.add_uint32("test.uint32", 4294967295)
    w.add_int32("test.int32", -2147483648)
    w.add_uint64("test.uint64", 2**64 - 1)
    w.add_int64("test.int64", -2**63)
    w.add_float32("test.float32", 1.5)
    w.add_float64("test.float64", 0.1)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "h\u00e9llo \u2713")
    w.add_key_value("test.empty_string", "", T.STRING)  # add_string skips empty strings
    arrays = {
        "uint8": (T.UINT8, [0, 128, 255]),
        "int8": (T.INT8, [-128, 0, 127]),
        "uint16": (T.UINT16, [0, 65535]),
        "int16": (T.INT16, [-32768, 32767]),
        "uint32": (T.UINT32, [0, 4294967295]),
        "int32": (T.INT32, [-2147483648, 2147483647]),
        "uint64": (T.UINT64, [0, 2**64 - 1]),
        "int64": (T.INT64, [-2**63, 2**63 - 1]),
        "float32": (T.FLOAT32, [0.5, -2.25]),
        "float64": (T.FLOAT64, [0.1, -1e300]),
        "bool": (T.BOOL, [True, False, True]),
        "string": (T.STRING, ["a", "", "\u00fc"]),
    }
    for name, (sub, values) in arrays.items():
        w.add_key_value(f"test.array.{name}", values, T.ARRAY, sub_type=sub)

    w.add_tensor("f32", (np.arange(6, dtype=np.float32) * 0.5).reshape(2, 3))
    w.add_tensor("f16", np.array([1, -2, 0.5, 65504], dtype=np.float16))
    w.add_tensor("cube", np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    w.add_tensor("hyper", np.arange(12, dtype=np.float32).reshape(2, 1, 3, 2))
    for name, (qtype, shape, mul, add) in PATTERNED.items():
        block, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
        row_bytes = shape[-1] // block * block_bytes
        data = pattern(shape[0] * row_bytes, mul, add).reshape(shape[0], row_bytes)
        w.add_tensor(name, data, raw_shape=data.shape, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def bf16(array):
    bits = np.asarray(array, dtype=np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, (dtype, array) in tensors.items():
        raw = np.ascontiguousarray(array).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def tiny_moe():
    cfg = {
        "architectures": ["Ernie4_5_MoeForCausalLM"], "model_type": "ernie4_5_moe", "hidden_act": "silu",
        "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 8, "vocab_size": 260, "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "moe_num_experts": 4, "moe_k": 2, "moe_intermediate_size": 16,
        "moe_num_shared_experts": 1, "moe_layer_start_index": 1, "moe_layer_end_index": 1, "moe_layer_interval": 1,
        "tie_word_embeddings": False, "use_bias": False, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0,
    }
    rng = np.random.default_rng(19)
    h, heads, kv, hd = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]

    def matrix(rows, cols):
        return "BF16", bf16(rng.normal(0, 0.2, (rows, cols)))

    def norm():
        return "BF16", bf16(1 + rng.normal(0, 0.1, (h,)))

    t = {"model.embed_tokens.weight": matrix(cfg["vocab_size"], h), "model.norm.weight": norm(),
         "lm_head.weight": matrix(cfg["vocab_size"], h)}
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        t[p + "input_layernorm.weight"] = norm()
        t[p + "post_attention_layernorm.weight"] = norm()
        t[p + "self_attn.q_proj.weight"] = matrix(heads * hd, h)
        t[p + "self_attn.k_proj.weight"] = matrix(kv * hd, h)
        t[p + "self_attn.v_proj.weight"] = matrix(kv * hd, h)
        t[p + "self_attn.o_proj.weight"] = matrix(h, heads * hd)
        if layer < cfg["moe_layer_start_index"]:
            mlps = {p + "mlp.": cfg["intermediate_size"]}
        else:
            t[p + "mlp.gate.weight"] = "F32", rng.normal(0, 0.5, (cfg["moe_num_experts"], h)).astype(np.float32)
            t[p + "mlp.moe_statics.e_score_correction_bias"] = "F32", rng.normal(0, 0.1, (1, cfg["moe_num_experts"])).astype(np.float32)
            mlps = {p + f"mlp.experts.{e}.": cfg["moe_intermediate_size"] for e in range(cfg["moe_num_experts"])}
            mlps[p + "mlp.shared_experts."] = cfg["moe_intermediate_size"] * cfg["moe_num_shared_experts"]
        for prefix, width in mlps.items():
            t[prefix + "gate_proj.weight"] = matrix(width, h)
            t[prefix + "up_proj.weight"] = matrix(width, h)
            t[prefix + "down_proj.weight"] = matrix(h, width)
    out = HERE / "tiny-moe"
    out.mkdir(exist_ok=True)
    (out / "config.json").write_text(json.dumps(cfg, indent=2) + "\n")
    write_safetensors(out / "model.safetensors", t)
    subprocess.run([sys.executable, str(REPO / "scripts" / "llamacpp" / "to_gguf.py"), str(out), str(HERE / "tiny-moe.gguf")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    every_type()
    tiny_moe()
