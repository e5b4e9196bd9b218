#!/usr/bin/env python3
"""Writes transformer_fixture.json: an independent PyTorch reference for the engine's
forward and backward passes (weights, one batch, the masked loss and every gradient).

Regenerate (needs `pip install torch`; the tests never run Python):
    python3 Tests/Fixtures/make_transformer_fixture.py --gelu tanh \
        --out Tests/PEFTEngineTests/Fixtures/transformer_fixture.json

The JSON carries a magic string and a version; the Swift test checks both.

The model mirrors the engine's definition: token + learned position embeddings, pre-LayerNorm
blocks (causal multi-head attention with biased q/k/v/o; MLP fc → GELU → proj), final LayerNorm,
untied LM head without bias; loss = Σ mask·nll / Σ mask. Parameter names match the engine's.
Computation is in float64, so the fixture is the exact answer up to float64 rounding.
"""
import argparse, json, math
import torch

MAGIC, VERSION = "workbench-transformer-fixture", 1


def build_params(V, C, L, F, T, g):
    p = {}
    def rnd(*shape, std=0.3):
        return (torch.randn(*shape, generator=g, dtype=torch.float64) * std).requires_grad_()
    p["wte"] = rnd(V, C); p["wpe"] = rnd(T, C)
    for l in range(L):
        b = f"blocks.{l}."
        p[b + "ln1.weight"] = (1 + rnd(C, std=0.1)).detach().requires_grad_(); p[b + "ln1.bias"] = rnd(C, std=0.1)
        for k in "qkvo":
            p[b + f"attn.{k}.weight"] = rnd(C, C); p[b + f"attn.{k}.bias"] = rnd(C, std=0.1)
        p[b + "ln2.weight"] = (1 + rnd(C, std=0.1)).detach().requires_grad_(); p[b + "ln2.bias"] = rnd(C, std=0.1)
        p[b + "mlp.fc.weight"] = rnd(F, C); p[b + "mlp.fc.bias"] = rnd(F, std=0.1)
        p[b + "mlp.proj.weight"] = rnd(C, F); p[b + "mlp.proj.bias"] = rnd(C, std=0.1)
    p["ln_f.weight"] = (1 + rnd(C, std=0.1)).detach().requires_grad_(); p["ln_f.bias"] = rnd(C, std=0.1)
    p["lm_head.weight"] = rnd(V, C)
    return p


def forward(p, tokens, targets, mask, L, NH, gelu):
    B, T = tokens.shape
    C = p["wte"].shape[1]; HS = C // NH
    ln = lambda x, pre: torch.nn.functional.layer_norm(x, (C,), p[pre + ".weight"], p[pre + ".bias"], eps=1e-5)
    lin = lambda x, pre: x @ p[pre + ".weight"].T + p[pre + ".bias"]
    x = p["wte"][tokens] + p["wpe"][:T]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    for l in range(L):
        b = f"blocks.{l}."
        h = ln(x, b + "ln1")
        q, k, v = (lin(h, b + f"attn.{n}").view(B, T, NH, HS).transpose(1, 2) for n in "qkv")
        att = (q @ k.transpose(-1, -2)) / math.sqrt(HS)
        att = att.masked_fill(~causal, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + lin(y, b + "attn.o")
        h = ln(x, b + "ln2")
        h = torch.nn.functional.gelu(lin(h, b + "mlp.fc"), approximate=gelu)
        x = x + lin(h, b + "mlp.proj")
    x = ln(x, "ln_f")
    logits = x @ p["lm_head.weight"].T
    nll = torch.nn.functional.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1), reduction="none")
    return (nll * mask.reshape(-1)).sum() / mask.sum(), logits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gelu", choices=["tanh", "none"], default="tanh", help="'none' = exact erf GELU")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    V, C, L, NH, F, T, B = 11, 8, 2, 2, 16, 5, 2
    g = torch.Generator().manual_seed(1234)
    p = build_params(V, C, L, F, T, g)
    tokens = torch.randint(0, V, (B, T), generator=g)
    targets = torch.randint(0, V, (B, T), generator=g)
    mask = torch.tensor([[0, 1, 1, 0, 1], [1, 1, 0, 1, 1]], dtype=torch.float64)
    loss, logits = forward(p, tokens, targets, mask, L, NH, a.gelu)
    loss.backward()
    flat = lambda t: [float(x) for x in t.detach().reshape(-1)]
    out = {
        "magic": MAGIC, "version": VERSION, "gelu": "tanh" if a.gelu == "tanh" else "erf",
        "config": {"vocab_size": V, "d_model": C, "layers": L, "heads": NH, "d_ff": F, "context_length": T},
        "batch": B, "tokens": tokens.reshape(-1).tolist(), "targets": targets.reshape(-1).tolist(),
        "mask": flat(mask), "loss": float(loss.detach()), "logits": flat(logits),
        "parameters": {n: {"shape": list(t.shape), "value": flat(t), "grad": flat(t.grad)} for n, t in p.items()},
    }
    with open(a.out, "w") as f:
        json.dump(out, f)
    print(f"wrote {a.out}: loss {float(loss.detach()):.6f}, {len(p)} parameter tensors")


if __name__ == "__main__":
    main()
