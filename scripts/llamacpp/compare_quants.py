"""Checks the quantized tensors of a GGUF file written by `mesh quantize` against an independent quantizer:
gguf-py's gguf.quants.quantize (a numpy port of ggml's reference quantizers) where it implements the type
(Q8_0, Q4_0), byte for byte. gguf-py 0.19.0 has no quantizer for Q4_K and Q6_K, so for those the file's blocks
are dequantized with gguf-py and their error against the checkpoint's F32 weights is reported instead
(relative RMS error, and the largest error as a fraction of the row's largest magnitude). Tensors kept F32 or
F16 are compared value for value. Prints one line per tensor and a summary; exits 1 if a comparable
tensor differs, or a K-quant's error is above what the type allows.

Usage: python3 compare_quants.py FILE.gguf MODEL_DIR   (needs numpy and gguf==0.19.0)
"""
import sys
from pathlib import Path

import numpy as np
from gguf import GGMLQuantizationType as T, GGUFReader
from gguf.quants import dequantize, quantize

sys.path.insert(0, str(Path(__file__).parent))
from to_gguf import read_tensors, to_f32  # noqa: E402  (the converter's reader and tensor names)

GLOBAL = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
          "output.weight": "lm_head.weight"}
LAYER = {"attn_norm.weight": "input_layernorm.weight", "ffn_norm.weight": "post_attention_layernorm.weight",
         "attn_q.weight": "self_attn.q_proj.weight", "attn_k.weight": "self_attn.k_proj.weight",
         "attn_v.weight": "self_attn.v_proj.weight", "attn_output.weight": "self_attn.o_proj.weight",
         "ffn_gate.weight": "mlp.gate_proj.weight", "ffn_up.weight": "mlp.up_proj.weight",
         "ffn_down.weight": "mlp.down_proj.weight", "ffn_gate_inp.weight": "mlp.gate.weight",
         "exp_probs_b.bias": "mlp.moe_statics.e_score_correction_bias",
         "ffn_gate_shexp.weight": "mlp.shared_experts.gate_proj.weight",
         "ffn_up_shexp.weight": "mlp.shared_experts.up_proj.weight",
         "ffn_down_shexp.weight": "mlp.shared_experts.down_proj.weight"}
STACKED = {"ffn_gate_exps.weight": "gate_proj.weight", "ffn_up_exps.weight": "up_proj.weight",
           "ffn_down_exps.weight": "down_proj.weight"}
# Largest relative RMS error a K-quant of Gaussian-like weights shows (Q4_K about 0.09, Q6_K about 0.02).
K_QUANT_RMS_LIMIT = {T.Q4_K: 0.12, T.Q6_K: 0.03}


def source(tensors, name, shape):
    """The checkpoint's F32 values of GGUF tensor `name` (experts stacked) in shape `shape`."""
    if name in GLOBAL:
        return to_f32(*tensors[GLOBAL[name]]).reshape(shape)
    layer, key = name[4:].split(".", 1)
    prefix = f"model.layers.{layer}."
    if key in STACKED:
        experts = [to_f32(*tensors[f"{prefix}mlp.experts.{e}.{STACKED[key]}"]) for e in range(shape[0])]
        return np.stack(experts).reshape(shape)
    return to_f32(*tensors[prefix + LAYER[key]]).reshape(shape)


def main():
    if len(sys.argv) != 3:
        print("usage: compare_quants.py FILE.gguf MODEL_DIR", file=sys.stderr)
        sys.exit(2)
    reader = GGUFReader(sys.argv[1])
    tensors = read_tensors(Path(sys.argv[2]))
    identical = differing = k_ok = k_bad = 0
    for t in reader.tensors:
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        want = source(tensors, t.name, shape)
        kind = T(t.tensor_type)
        raw = np.asarray(t.data)
        if kind in (T.F32, T.F16):
            ok = np.array_equal(raw.reshape(shape), want.astype(np.float16 if kind == T.F16 else np.float32))
            verdict = "identical" if ok else "DIFFERENT"
        elif kind in K_QUANT_RMS_LIMIT:
            got = dequantize(raw, kind).reshape(shape)
            err = got - want
            rms = float(np.sqrt(np.mean(err ** 2)) / np.sqrt(np.mean(want ** 2)))
            peak = float(np.max(np.abs(err).max(axis=-1) / np.maximum(np.abs(want).max(axis=-1), 1e-30)))
            ok = rms <= K_QUANT_RMS_LIMIT[kind]
            k_ok, k_bad = k_ok + ok, k_bad + (not ok)
            print(f"{t.name:32} {kind.name:5} no gguf-py quantizer: dequantized vs F32 relative RMS error {rms:.4f}, "
                  f"largest error {peak:.4f} of the row's largest |w| ({'within' if ok else 'ABOVE'} {K_QUANT_RMS_LIMIT[kind]})")
            continue
        else:
            ours = raw.reshape(-1).view(np.uint8)
            ok = np.array_equal(ours, quantize(want, kind).reshape(-1))
            verdict = "byte-identical to gguf-py's quantize" if ok else "DIFFERENT from gguf-py's quantize"
        identical, differing = identical + ok, differing + (not ok)
        print(f"{t.name:32} {kind.name:5} {verdict}")
    print(f"summary: {identical} tensors identical to the reference, {differing} different; "
          f"{k_ok + k_bad} K-quant tensors checked by error only ({k_bad} above the limit)")
    sys.exit(1 if differing or k_bad else 0)


if __name__ == "__main__":
    main()
