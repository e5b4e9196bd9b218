"""A small byte-level BPE tokenizer trained with HF `tokenizers` and saved as `tokenizer.json`
(the file an HF model folder carries), with the ids `tokenizers` itself gives on test strings:
the reference for the workbench's `tokenizer.json` reader.

Regenerate (needs tokenizers from PyPI; the project never needs Python to build or test):
    python3 Tests/Fixtures/make_tokenizer_json_fixture.py --out Tests/WorkbenchTests/Fixtures/tokenizer

Writes tiny_tokenizer.json (ByteLevel pre-tokenizer and decoder, BPE with 600 tokens trained on
the GPL-3 text Debian ships, special tokens <|endoftext|> and <|im_start|>) and
tiny_tokenizer_ids.json (magic "workbench-tokenizer-json-fixture", version 1: text → ids).
"""
import argparse
import json
import os

from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers

STRINGS = ["Hello world", "the GNU General Public License, version 3", "It's  free\tsoftware!\n", "12345 copies",
           "<|im_start|>user\nhi<|endoftext|>", "naïve café 🙂", "", "   "]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<|endoftext|>", "<|im_start|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train(["/usr/share/common-licenses/GPL-3"], trainer)
    tok.save(os.path.join(args.out, "tiny_tokenizer.json"))
    out = {"magic": "workbench-tokenizer-json-fixture", "version": 1,
           "cases": [{"text": s, "ids": tok.encode(s, add_special_tokens=False).ids} for s in STRINGS]}
    with open(os.path.join(args.out, "tiny_tokenizer_ids.json"), "w") as f:
        json.dump(out, f, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
