"""Writes the fixtures QuantizedBlocksTest and QuantizeTest compare against, with gguf-py as the reference.

Run from this directory with gguf==0.19.0 and numpy installed:  python3 make_fixture.py

Per type T in q8_0, q4_0, q4_k, q6_k:
  T.blocks        raw GGML blocks: random bytes, then blocks whose f16 scale (and Q4_K's min) is
                  zero, -0, +-65504 (the largest f16), the smallest and largest subnormals, with
                  random and extreme quants
  T.dequantized   gguf.quants.dequantize of T.blocks, little-endian float32
Per type T that gguf-py can quantize (q8_0, q4_0):
  T.input         little-endian float32 rows to quantize
  T.quantized     gguf.quants.quantize of T.input
"""
import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf.quants import dequantize, quantize

rng = np.random.default_rng(20261205)

# f16 bit patterns of the scales every type is tried with
SPECIAL_HALVES = [0x0000, 0x8000, 0x7BFF, 0xFBFF, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0xBC00]

TYPES = {
    # name: (type, block bytes, offsets of f16 scales within a block, blocks)
    "q8_0": (Q.Q8_0, 34, [0], 512),
    "q4_0": (Q.Q4_0, 18, [0], 512),
    "q4_k": (Q.Q4_K, 144, [0, 2], 256),
    "q6_k": (Q.Q6_K, 210, [208], 256),
}


def blocks_for(block_bytes, scale_offsets, count):
    blocks = rng.integers(0, 256, size=(count, block_bytes), dtype=np.uint8)
    special = count // 2
    for i in range(special, count):
        for k, off in enumerate(scale_offsets):
            h = SPECIAL_HALVES[(i + 3 * k) % len(SPECIAL_HALVES)]
            blocks[i, off] = h & 0xFF
            blocks[i, off + 1] = h >> 8
        if i % 3 == 0:
            # every quant and sub-block scale at its largest, then its smallest, value
            rest = [j for j in range(block_bytes) if all(j not in (o, o + 1) for o in scale_offsets)]
            blocks[i, rest] = 0xFF if i % 2 == 0 else 0x00
    return blocks


def quantize_input(count):
    rows = rng.standard_normal((count, 32)).astype(np.float32)
    rows *= (10.0 ** rng.uniform(-6, 3, size=(count, 1))).astype(np.float32)
    rows[0] = 0
    rows[1] = 0
    rows[1, 7] = -3.5
    rows[2] = np.float32(1.5)
    rows[3, :] = np.arange(-16, 16, dtype=np.float32) / 2  # ties after scaling
    rows[4] = -rows[3]
    rows[5] = 60000.0 * np.sign(rows[5])
    rows[6] = np.concatenate([[127.0], np.arange(-15, 16) + 0.5])  # d = 1: exact ties, which round away from zero
    # values at half-integer multiples of the scale: x·id lands on or next to a tie, where rounding
    # once (x·id, then + 8.5 for Q4_0) and rounding a fused multiply-add differ
    scales = (10.0 ** rng.uniform(-3, 2, size=(64, 1))).astype(np.float32)
    halves = np.tile(np.concatenate([[-8.0], np.arange(-7, 8) + 0.5, np.arange(-8, 7) + 0.5, [7.0]]), (64, 1))
    rows[8:72] = (halves * scales).astype(np.float32)
    return rows


for name, (qtype, block_bytes, scale_offsets, count) in TYPES.items():
    blocks = blocks_for(block_bytes, scale_offsets, count)
    with np.errstate(all="ignore"):
        values = dequantize(blocks, qtype)
    blocks.tofile(f"{name}.blocks")
    values.astype("<f4").tofile(f"{name}.dequantized")

for name, qtype in [("q8_0", Q.Q8_0), ("q4_0", Q.Q4_0)]:
    rows = quantize_input(256)
    rows.astype("<f4").tofile(f"{name}.input")
    quantize(rows, qtype).tofile(f"{name}.quantized")
