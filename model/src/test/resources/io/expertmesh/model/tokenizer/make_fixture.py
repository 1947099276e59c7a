"""Writes tiny-ernie-vocab.gguf beside this script (needs gguf==0.19.0; sentencepiece is not used): the tokenizer
metadata of models/tiny-ernie-4.5-moe as scripts/llamacpp/to_gguf.py writes it with gguf-py's SpecialVocab and
GGUFWriter, and no tensors. The Java tests check that GgufTokenizerMetadata writes the same entries and that the
file tokenizes as transformers does.
"""
import json
import sys
from pathlib import Path

import gguf

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[7]
sys.path.insert(0, str(REPO / "scripts" / "llamacpp"))
import to_gguf  # noqa: E402

model_dir = REPO / "models" / "tiny-ernie-4.5-moe"
writer = gguf.GGUFWriter(HERE / "tiny-ernie-vocab.gguf", "ernie4_5-moe")
to_gguf.add_vocab(writer, model_dir, json.loads((model_dir / "config.json").read_text()))
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.close()
