#!/usr/bin/env python3
"""Writes llama_training_fixture.json: transformers' and peft's own answer for the training
engine's LLaMA block (loss, logits and every gradient in float64) on a tiny random LLaMA with
grouped-query attention (4 heads over 2 key/value heads), tied embeddings and RoPE θ = 500.

Regenerate (needs torch, transformers and peft from PyPI; the tests never run Python):
    python3 Tests/Fixtures/make_llama_training_fixture.py \
        --out Tests/PEFTEngineTests/Fixtures/llama_training_fixture.json

Cases, each on the same weights and batch, loss = Σ mask·nll / Σ mask over the token positions:
- "base": LlamaForCausalLM itself; every parameter's gradient under the engine's name
  (the tied head's gradient is part of wte's, as autograd sums both uses);
- "prefix": peft PrefixTuningConfig(num_virtual_tokens=2) with a random prefix embedding
  [P, 2·L·KV·HS] (peft sizes it by key/value heads); its gradient;
- "prompt": peft PromptTuningConfig(num_virtual_tokens=3) with random virtual-token embeddings;
  the logits of the token positions and the embeddings' gradient;
- "ia3": peft IA3Config with its LLaMA defaults (k_proj, v_proj, down_proj; down_proj scaled on
  its input) and random vectors; their gradients under peft's names.
"""
import argparse
import json

import torch
from peft import IA3Config, PrefixTuningConfig, PromptTuningConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM

MAGIC, VERSION = "workbench-llama-training-fixture", 1
V, C, L, NH, KV, F, MAXT = 13, 8, 2, 4, 2, 12, 16
B, T = 2, 5


def engine_name(hf):
    """The engine's parameter name of a transformers LLaMA name (None: not a base parameter)."""
    if hf == "model.embed_tokens.weight":
        return "wte"
    if hf == "model.norm.weight":
        return "ln_f.weight"
    if hf == "lm_head.weight":
        return "lm_head.weight"
    parts = hf.split(".")
    if parts[:2] != ["model", "layers"]:
        return None
    l, rest = parts[2], ".".join(parts[3:])
    table = {"input_layernorm.weight": "ln1.weight", "post_attention_layernorm.weight": "ln2.weight",
             "self_attn.q_proj.weight": "attn.q.weight", "self_attn.k_proj.weight": "attn.k.weight",
             "self_attn.v_proj.weight": "attn.v.weight", "self_attn.o_proj.weight": "attn.o.weight",
             "mlp.gate_proj.weight": "mlp.gate.weight", "mlp.up_proj.weight": "mlp.up.weight",
             "mlp.down_proj.weight": "mlp.down.weight"}
    return f"blocks.{l}.{table[rest]}"


def masked_loss(logits, targets, mask):
    nll = torch.nn.functional.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1), reduction="none")
    return (nll * mask.reshape(-1)).sum() / mask.sum()


def flat(t):
    return [float(x) for x in t.detach().reshape(-1)]


def base_model():
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=V, hidden_size=C, num_hidden_layers=L, num_attention_heads=NH,
                         num_key_value_heads=KV, intermediate_size=F, max_position_embeddings=MAXT,
                         rms_norm_eps=1e-5, rope_theta=500.0, tie_word_embeddings=True,
                         attention_bias=False, mlp_bias=False)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(1 + 0.1 * torch.randn_like(p) if "norm" in name else 0.3 * torch.randn_like(p))
    return model.to(torch.float64)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    g = torch.Generator().manual_seed(1234)
    tokens = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)
    mask = torch.tensor([[0, 1, 1, 0, 1], [1, 1, 0, 1, 1]], dtype=torch.float64)
    out = {"magic": MAGIC, "version": VERSION,
           "config": {"architecture": "llama", "vocab_size": V, "d_model": C, "n_layers": L, "n_heads": NH, "n_kv_heads": KV, "d_ff": F,
                      "context_length": MAXT, "rope_theta": 500.0, "rms_norm_eps": 1e-5, "tie_word_embeddings": True},
           "batch": B, "tokens": tokens.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(), "mask": flat(mask)}

    model = base_model()
    weights = {engine_name(n): p for n, p in model.named_parameters()}
    logits = model(tokens).logits
    loss = masked_loss(logits, targets, mask)
    loss.backward()
    out["parameters"] = {n: {"shape": list(p.shape), "value": flat(p)} for n, p in weights.items()}
    out["base"] = {"loss": float(loss), "logits": flat(logits),
                   "gradients": {n: flat(p.grad) for n, p in weights.items()}}

    # Prefix tuning: peft's past_key_values with KV heads; tokens at positions P..P+T−1.
    model = base_model()
    peft = get_peft_model(model, PrefixTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=2))
    embedding = peft.prompt_encoder["default"].embedding.weight
    with torch.no_grad():
        embedding.copy_(0.5 * torch.randn(embedding.shape, generator=g, dtype=torch.float64))
    logits = peft(input_ids=tokens).logits
    loss = masked_loss(logits, targets, mask)
    loss.backward()
    out["prefix"] = {"num_virtual_tokens": 2, "loss": float(loss), "logits": flat(logits),
                     "embedding": {"shape": list(embedding.shape), "value": flat(embedding), "grad": flat(embedding.grad)}}

    # Prompt tuning: virtual tokens ahead of the input embeddings; logits of the tokens only.
    model = base_model()
    peft = get_peft_model(model, PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=3))
    embedding = peft.prompt_encoder["default"].embedding.weight
    with torch.no_grad():
        embedding.copy_(0.5 * torch.randn(embedding.shape, generator=g, dtype=torch.float64))
    logits = peft(input_ids=tokens).logits[:, 3:]
    loss = masked_loss(logits, targets, mask)
    loss.backward()
    out["prompt"] = {"num_virtual_tokens": 3, "loss": float(loss), "logits": flat(logits),
                     "embedding": {"shape": list(embedding.shape), "value": flat(embedding), "grad": flat(embedding.grad)}}

    # (IA)³ with peft's LLaMA defaults.
    model = base_model()
    peft = get_peft_model(model, IA3Config(task_type="CAUSAL_LM"))
    vectors = {n: p for n, p in peft.named_parameters() if "ia3_l" in n}
    with torch.no_grad():
        for p in vectors.values():
            p.copy_(1 + 0.3 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    logits = peft(input_ids=tokens).logits
    loss = masked_loss(logits, targets, mask)
    loss.backward()
    out["ia3"] = {"target_modules": sorted(peft.peft_config["default"].target_modules),
                  "feedforward_modules": sorted(peft.peft_config["default"].feedforward_modules),
                  "loss": float(loss), "logits": flat(logits),
                  "vectors": {n.replace("base_model.model.", "").replace(".default", ""):
                              {"shape": list(p.shape), "value": flat(p), "grad": flat(p.grad)} for n, p in vectors.items()}}
    with open(args.out, "w") as f:
        json.dump(out, f)
    print(f"wrote {args.out}: base loss {out['base']['loss']:.6f}, prefix {out['prefix']['loss']:.6f}, "
          f"prompt {out['prompt']['loss']:.6f}, ia3 {out['ia3']['loss']:.6f}")


if __name__ == "__main__":
    main()
