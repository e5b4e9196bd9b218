"""Adapters saved by HF peft itself, with peft's own merged weights as the expected answer.

Regenerate (needs torch and peft; the project never needs Python to build or test):
    pip install torch --index-url https://download.pytorch.org/whl/cpu
    pip install peft safetensors numpy
    python3 Tests/Fixtures/make_peft_fixtures.py --out Tests/WorkbenchTests/Fixtures/checkpoints

Writes, for a LoRA (rsLoRA, a rank_pattern override) and a DoRA adapter on a tiny model:
    peft_<kind>/adapter_config.json, peft_<kind>/adapter_model.safetensors  (peft's save_pretrained)
    peft_base.safetensors          the base model's state dict
    peft_<kind>_merged.safetensors  merge_and_unload()'s weights of the adapted modules
"""
import argparse
import os

import torch
from peft import LoraConfig, get_peft_model
from safetensors.torch import save_file


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([torch.nn.ModuleDict({
            "q_proj": torch.nn.Linear(6, 5),
            "fc1": torch.nn.Linear(5, 7),
        }) for _ in range(2)])

    def forward(self, x):
        for layer in self.layers:
            x = layer["fc1"](layer["q_proj"](x)[..., :5])
        return x


def make(kind, out):
    torch.manual_seed(0)
    base = Tiny()
    base_state = {k: v.detach().clone().contiguous() for k, v in base.state_dict().items()}
    save_file(base_state, os.path.join(out, "peft_base.safetensors"))
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "fc1"], init_lora_weights=False,
                        use_rslora=(kind == "lora"), rank_pattern={"fc1": 2} if kind == "lora" else {},
                        use_dora=(kind == "dora"))
    model = get_peft_model(base, config)
    torch.manual_seed(1)
    with torch.no_grad():  # a trained-looking adapter: every factor non-zero
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.add_(0.3 * torch.randn_like(p))
    model.save_pretrained(os.path.join(out, f"peft_{kind}"), safe_serialization=True)
    merged = model.merge_and_unload()
    expected = {f"layers.{i}.{m}.weight": merged.layers[i][m].weight.detach().clone().contiguous()
                for i in range(2) for m in ("q_proj", "fc1")}
    save_file(expected, os.path.join(out, f"peft_{kind}_merged.safetensors"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    for kind in ("lora", "dora"):
        make(kind, args.out)
