"""Writes a GGUF file with every tensor dequantized to F32 by gguf-py's reference (gguf.quants.dequantize)
and its metadata unchanged: the same weight values as the quantized file, which llama.cpp then multiplies in
F32 (its F32 x F32 dot products), where on the quantized file it quantizes the activations to Q8_0/Q8_K
first. check-llamacpp-gguf runs llama.cpp on both to tell apart what the weights do and what that does.

Usage: python3 dequantize_gguf.py IN.gguf OUT.gguf   (needs numpy and gguf==0.19.0)
"""
import sys

import gguf
import numpy as np


def main(source, target):
    reader = gguf.GGUFReader(source)
    writer = gguf.GGUFWriter(target, reader.fields["general.architecture"].contents())
    for name, field in reader.fields.items():
        # The writer adds the architecture and the file's own header fields itself.
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        kind = field.types[0]
        sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(name, field.contents(), kind, sub_type=sub)
    for t in reader.tensors:
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32, copy=False)
        writer.add_tensor(t.name, values.reshape([int(n) for n in reversed(t.shape)]), raw_dtype=gguf.GGMLQuantizationType.F32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"wrote {target}: {len(reader.tensors)} tensors as F32")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print("usage: python3 dequantize_gguf.py IN.gguf OUT.gguf", file=sys.stderr)
        sys.exit(2)
    main(sys.argv[1], sys.argv[2])
