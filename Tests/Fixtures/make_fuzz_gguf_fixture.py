"""Writes Tests/FuzzTests/Seeds/tiny_llama.gguf: the smallest LLaMA GGUF the workbench runs end to
end (generate, tokenize), the seed the GGUF mutator of the fuzz harness damages.

One layer, d_model 32, 2 heads over 1 key/value head, d_ff 64, and a byte-level BPE vocabulary
of the 256 GPT-2 byte symbols, three merges and the ChatML specials. Tensor types as in
SmolLM2-135M's file: token_embd Q8_0, the block matrices Q4_1 (ffn_down Q4_0, attn_output F16),
norms F32. Written with gguf (PyPI, the llama.cpp project's writer): `python3 make_fuzz_gguf_fixture.py`.
"""
from pathlib import Path

import numpy as np
import gguf

OUT = Path(__file__).resolve().parent.parent / "FuzzTests" / "Seeds" / "tiny_llama.gguf"


def byte_symbols():
    """GPT-2's bytes_to_unicode table: byte -> printable symbol."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, codes)}


def main():
    rng = np.random.default_rng(19)
    symbols = byte_symbols()
    tokens = [symbols[b] for b in range(256)]
    merges = ["h e", "l l", "he ll"]
    tokens += ["he", "ll", "hell"]
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokens += specials
    types = [1] * (len(tokens) - len(specials)) + [3] * len(specials)
    vocab, d, ff, heads, kv_heads = len(tokens), 32, 64, 2, 1
    head_dim = d // heads

    writer = gguf.GGUFWriter(str(OUT), "llama")
    writer.add_block_count(1)
    writer.add_context_length(64)
    writer.add_embedding_length(d)
    writer.add_feed_forward_length(ff)
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(vocab - 3)
    writer.add_eos_token_id(vocab - 1)

    def matrix(rows, cols, scale=0.2):
        return (rng.standard_normal((rows, cols)) * scale).astype(np.float32)

    def quantized(name, data, kind):
        q = gguf.quants.quantize(data, kind)
        writer.add_tensor(name, q, raw_dtype=kind)

    quantized("token_embd.weight", matrix(vocab, d), gguf.GGMLQuantizationType.Q8_0)
    writer.add_tensor("blk.0.attn_norm.weight", np.ones(d, dtype=np.float32))
    writer.add_tensor("blk.0.ffn_norm.weight", np.ones(d, dtype=np.float32))
    quantized("blk.0.attn_q.weight", matrix(d, d), gguf.GGMLQuantizationType.Q4_1)
    quantized("blk.0.attn_k.weight", matrix(kv_heads * head_dim, d), gguf.GGMLQuantizationType.Q4_1)
    quantized("blk.0.attn_v.weight", matrix(kv_heads * head_dim, d), gguf.GGMLQuantizationType.Q4_1)
    writer.add_tensor("blk.0.attn_output.weight", matrix(d, d).astype(np.float16))
    quantized("blk.0.ffn_gate.weight", matrix(ff, d), gguf.GGMLQuantizationType.Q4_1)
    quantized("blk.0.ffn_up.weight", matrix(ff, d), gguf.GGMLQuantizationType.Q4_1)
    quantized("blk.0.ffn_down.weight", matrix(d, ff), gguf.GGMLQuantizationType.Q4_0)
    writer.add_tensor("output_norm.weight", np.ones(d, dtype=np.float32))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
