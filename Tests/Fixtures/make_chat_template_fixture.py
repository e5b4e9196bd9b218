"""Writes Tests/WorkbenchTests/Fixtures/tokenizer/smollm2_chat_template.json: SmolLM2-135M-Instruct's
chat template (from the GGUF metadata) rendered by transformers' own `apply_chat_template` for a few
user turns (with the generation prompt), and the token ids of prompt + answer + <|im_end|> by the
model's tokenizer, for the Swift ChatTemplate and ChatTask tests.

Run: python3 Tests/Fixtures/make_chat_template_fixture.py PATH/TO/SmolLM2-135M-Instruct.Q4_1.gguf
(the workbench caches it under ~/.cache/workbench/models/smollm2-135m-instruct/).
"""
import json
import os
import sys

import gguf
from transformers import AutoTokenizer

path = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser(
    "~/.cache/workbench/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf")
reader = gguf.GGUFReader(path)
field = reader.fields["tokenizer.chat_template"]
template = bytes(field.parts[field.data[0]]).decode()
tokenizer = AutoTokenizer.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path))
cases = []
for user, answer in [("What is the capital of France?", "The capital of France is Tokyo."),
                     ("Add 2 and 3.", "5"),
                     ("Ünïcode — and\nnew lines?", "Yes.")]:
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True)
    ids = tokenizer(prompt + answer + "<|im_end|>", add_special_tokens=False)["input_ids"]
    cases.append({"user": user, "answer": answer, "prompt": prompt, "ids": ids})
out = os.path.join(os.path.dirname(__file__), "..", "WorkbenchTests", "Fixtures", "tokenizer", "smollm2_chat_template.json")
with open(out, "w") as f:
    json.dump({"template": template, "cases": cases}, f, indent=1, ensure_ascii=False)
print("wrote", out)
