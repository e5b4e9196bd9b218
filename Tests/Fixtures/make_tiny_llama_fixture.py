"""A tiny random LLaMA (grouped-query attention, untied head, RoPE θ = 500) saved as a Hugging Face
folder, and its logits and loss in float64: the reference for reading HF LLaMA folders and for
the workbench's LLaMA forward.

Regenerate (needs torch and transformers from PyPI; the project never needs Python to build or test):
    python3 Tests/Fixtures/make_tiny_llama_fixture.py --out Tests/WorkbenchTests/Fixtures/llama

Writes tiny_hf/config.json and tiny_hf/model.safetensors (transformers' save_pretrained, float32),
and tiny_reference.json (magic "workbench-tiny-llama-reference", version 1): the token ids, the
float64 logits [T, V] of the same weights, and the mean cross-entropy of tokens 1…T−1.
"""
import argparse
import json
import os

import torch
from transformers import LlamaConfig, LlamaForCausalLM


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=97, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         intermediate_size=48, max_position_embeddings=64, rms_norm_eps=1e-5, rope_theta=500.0,
                         tie_word_embeddings=False, attention_bias=False, mlp_bias=False)
    model = LlamaForCausalLM(config).eval()
    with torch.no_grad():  # visible norms, not all ones
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1 + 0.2 * torch.randn_like(p))
    folder = os.path.join(args.out, "tiny_hf")
    model.save_pretrained(folder, safe_serialization=True)
    tokens = [5, 17, 42, 3, 96, 0, 64, 8, 33, 21, 7]
    double = model.to(torch.float64)
    with torch.no_grad():
        logits = double(torch.tensor([tokens])).logits[0]
        loss = torch.nn.functional.cross_entropy(logits[:-1], torch.tensor(tokens[1:]))
    with open(os.path.join(args.out, "tiny_reference.json"), "w") as f:
        json.dump({"magic": "workbench-tiny-llama-reference", "version": 1, "tokens": tokens,
                   "logits": logits.reshape(-1).tolist(), "loss": float(loss)}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
