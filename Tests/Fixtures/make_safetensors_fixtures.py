#!/usr/bin/env python3
"""Writes the safetensors / peft-LoRA fixtures read by Tests/WorkbenchTests/Checkpoint*Tests.swift.

Regenerate (needs `pip install safetensors numpy`; torch and peft are NOT needed, and the
tests never run Python):
    python3 Tests/Fixtures/make_safetensors_fixtures.py \
        --out Tests/WorkbenchTests/Fixtures/checkpoints

Every file is written by the reference `safetensors` library (its numpy API, or its low-level
`serialize_file` with `TensorSpec` for bfloat16, which numpy lacks). The LoRA adapters are
written the way peft saves them (keys `base_model.model.<module>.lora_A.weight` [r, in] and
`.lora_B.weight` [out, r], no adapter name) with a hand-written adapter_config.json in peft's
format. Expected ΔW and DoRA merges are computed here in float64 with numpy, independently of
the Swift code, and stored as float32 in `*_expected.safetensors`.

Files (all tiny, < 50 KB together):
  dtypes.safetensors            F32 / F16 / BF16 tensors with known bit patterns, an I64 tensor
                                (unsupported by the workbench) and __metadata__
  sharded/                      2-shard checkpoint with model.safetensors.index.json
  lora_base/model.safetensors   base weights for the adapters
  lora_adapter/                 LoRA r=4 on q_proj and fc1, rank_pattern {"fc1": 2}, alpha 8
  lora_expected.safetensors     scaling · B · A per module of lora_adapter
  dora_adapter/                 DoRA (use_dora) on q_proj, r=2, with lora_magnitude_vector
  dora_expected.safetensors     m ⊙ (W0 + ΔW) / rownorm(W0 + ΔW)
"""
import argparse, json, math, os
import numpy as np
from safetensors import serialize_file, TensorSpec
from safetensors.numpy import save_file

MAGIC, VERSION = "workbench-safetensors-fixtures", 1
META = {"magic": MAGIC, "version": str(VERSION), "format": "np"}


def u16(bits):
    return np.array(bits, dtype="<u2")


def write_dtypes(out):
    f32 = np.array([[0.0, 1.0, -2.5], [3.25, 1e-3, -1e30]], dtype="<f4")
    # F16 bit patterns: 1, -2, 65504 (max), 2^-24 (smallest subnormal), +inf, NaN, -0, 0x0200 = 2^-15
    f16 = u16([0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00, 0x7E00, 0x8000, 0x0200]).view("<f2")
    # BF16 bit patterns: 1, 3.140625, -2, 0, -inf, 1.0e-38-ish subnormal 0x0001 = 2^-133
    bf16 = u16([0x3F80, 0x4049, 0xC000, 0x0000, 0xFF80, 0x0001])
    i64 = np.array([7, -1], dtype="<i8")
    keep = [f32, f16, bf16, i64]
    spec = {
        "f32": TensorSpec(dtype="float32", shape=list(f32.shape), data_ptr=f32.ctypes.data, data_len=f32.nbytes),
        "f16": TensorSpec(dtype="float16", shape=list(f16.shape), data_ptr=f16.ctypes.data, data_len=f16.nbytes),
        "bf16": TensorSpec(dtype="bfloat16", shape=[2, 3], data_ptr=bf16.ctypes.data, data_len=bf16.nbytes),
        "i64": TensorSpec(dtype="int64", shape=list(i64.shape), data_ptr=i64.ctypes.data, data_len=i64.nbytes),
    }
    serialize_file(spec, os.path.join(out, "dtypes.safetensors"), metadata=META)
    del keep


def write_sharded(out):
    d = os.path.join(out, "sharded"); os.makedirs(d, exist_ok=True)
    shard1 = {"embed.weight": np.arange(12, dtype="<f4").reshape(4, 3),
              "layer0.weight": np.arange(6, dtype="<f4").reshape(2, 3) * 0.5}
    shard2 = {"layer1.weight": -np.arange(6, dtype="<f4").reshape(3, 2),
              "head.bias": np.array([1.5, -1.5], dtype="<f4")}
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    save_file(shard1, os.path.join(d, names[0]), metadata=META)
    save_file(shard2, os.path.join(d, names[1]), metadata=META)
    weight_map = {k: names[0] for k in shard1} | {k: names[1] for k in shard2}
    total = sum(v.nbytes for v in (shard1 | shard2).values())
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)


def lora_config(r, alpha, targets, rank_pattern, use_dora):
    """adapter_config.json as peft (0.1x) writes it for a LoraConfig."""
    return {
        "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "workbench-fixture-base",
        "bias": "none", "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True,
        "layers_pattern": None, "layers_to_transform": None, "lora_alpha": alpha, "lora_dropout": 0.0,
        "modules_to_save": None, "peft_type": "LORA", "r": r, "rank_pattern": rank_pattern,
        "revision": None, "target_modules": targets, "task_type": "CAUSAL_LM",
        "use_dora": use_dora, "use_rslora": False,
    }


def write_lora(out, rng):
    # Module shapes (out, in), and base weights.
    modules = {"model.layers.0.self_attn.q_proj": (6, 5), "model.layers.0.mlp.fc1": (7, 5)}
    base = {m + ".weight": rng.standard_normal(s).astype("<f4") for m, s in modules.items()}
    base["model.embed_tokens.weight"] = rng.standard_normal((4, 5)).astype("<f4")
    os.makedirs(os.path.join(out, "lora_base"), exist_ok=True)
    save_file(base, os.path.join(out, "lora_base", "model.safetensors"), metadata=META)

    r, alpha, rank_pattern = 4, 8, {"fc1": 2}
    adapter, expected = {}, {}
    for m, (o, i) in modules.items():
        rm = rank_pattern.get(m.split(".")[-1], r)
        a = rng.standard_normal((rm, i)).astype("<f4")
        b = rng.standard_normal((o, rm)).astype("<f4")
        adapter[f"base_model.model.{m}.lora_A.weight"] = a
        adapter[f"base_model.model.{m}.lora_B.weight"] = b
        expected[m] = ((alpha / rm) * (b.astype(np.float64) @ a.astype(np.float64))).astype("<f4")
    d = os.path.join(out, "lora_adapter"); os.makedirs(d, exist_ok=True)
    save_file(adapter, os.path.join(d, "adapter_model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(d, "adapter_config.json"), "w") as f:
        json.dump(lora_config(r, alpha, ["q_proj", "fc1"], rank_pattern, False), f, indent=2, sort_keys=True)
    save_file(expected, os.path.join(out, "lora_expected.safetensors"), metadata=META)

    # DoRA on q_proj, r = 2: merged = m ⊙ (W0 + ΔW) / ‖W0 + ΔW‖ (L2 norm of each output row).
    m, (o, i) = "model.layers.0.self_attn.q_proj", modules["model.layers.0.self_attn.q_proj"]
    rd, alpha_d = 2, 4
    a = rng.standard_normal((rd, i)).astype("<f4"); b = rng.standard_normal((o, rd)).astype("<f4")
    mag = (rng.random(o) + 0.5).astype("<f4")
    w = base[m + ".weight"].astype(np.float64) + (alpha_d / rd) * (b.astype(np.float64) @ a.astype(np.float64))
    merged = (mag.astype(np.float64) / np.linalg.norm(w, axis=1))[:, None] * w
    d = os.path.join(out, "dora_adapter"); os.makedirs(d, exist_ok=True)
    save_file({f"base_model.model.{m}.lora_A.weight": a, f"base_model.model.{m}.lora_B.weight": b,
               f"base_model.model.{m}.lora_magnitude_vector": mag},
              os.path.join(d, "adapter_model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(d, "adapter_config.json"), "w") as f:
        json.dump(lora_config(rd, alpha_d, ["q_proj"], {}, True), f, indent=2, sort_keys=True)
    save_file({m: merged.astype("<f4")}, os.path.join(out, "dora_expected.safetensors"), metadata=META)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", default="Tests/WorkbenchTests/Fixtures/checkpoints")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(20261123)
    write_dtypes(args.out)
    write_sharded(args.out)
    write_lora(args.out, rng)


if __name__ == "__main__":
    main()
