"""4-bit blockwise quantization as bitsandbytes itself computes it on CPU, for a bit-exact test.

Regenerate (needs torch and bitsandbytes; the project never needs Python to build or test):
    pip install torch==2.15.0 bitsandbytes==0.50.2 numpy
    python3 Tests/Fixtures/make_bnb_quant_fixture.py --out Tests/PEFTEngineTests/Fixtures/bnb_quant_fixture.json

What it writes (JSON, magic "workbench-bnb-quant-fixture", version 1). Every Float32 is given as its
IEEE bit pattern (an unsigned 32-bit integer), byte arrays as lowercase hex, so the Swift test
(`QuantBitsandbytesFixtureTests`) compares bit for bit:
  levels        bitsandbytes.functional.get_4bit_type("nf4"/"fp4"), indexed by code
  fp4_order     torch.argsort of the FP4 levels: the code of each quantization bucket
  dynamic_map   create_dynamic_map(): the 256 levels of the nested (double) quantization
  sums          torch.Tensor.sum() of |generated inputs| of several lengths (the mean that
                double quantization subtracts is this sum / n), as bit patterns
  cases         each: quant_type, blocksize, double_quant, the input (generated or explicit),
                and what quantize_4bit returned: packed codes; absmax (plain) or the nested
                codes, nested absmax and offset (double quantization); the absmax
                dequantize_4bit uses; and the dequantized values (bit patterns when the case is
                small, else an FNV-1a 64 hash of their little-endian bytes).

Generated inputs avoid storing large arrays: both sides compute them exactly, with integer
arithmetic and one correctly rounded Float32 division (`generated_input` below and
`BitsandbytesFixture.generatedInput` in Swift). Explicit inputs cover what random data rarely
hits: values exactly on a bucket midpoint and one ulp either side, +0 and -0, all-zero blocks
(whole and tail), a subnormal absmax, an odd count (the last low nibble is padding).
"""
import argparse
import json

import numpy as np
import torch
import bitsandbytes
import bitsandbytes.functional as F
from bitsandbytes.backends.default.ops import _get_4bit_quantize_bounds

f32 = np.float32


def bits(a):
    return [int(v) for v in np.asarray(a, dtype=f32).view(np.uint32)]


def fnv1a64(a):
    h = 0xCBF29CE484222325
    for byte in np.asarray(a, dtype="<f4").tobytes():
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return format(h, "016x")


def generated_input(seed, count, blocksize):
    """x_i = (Σ₄ u − 2000)/1000 · 2^e_b: u uniform integers in 0…1000 from a 32-bit LCG
    (Numerical Recipes' constants, top 24 bits), e_b = (7b + seed) mod 13 − 8 per block b of
    `blocksize`, and every block b with b mod 11 = 5 all zero."""
    state = seed & 0xFFFFFFFF
    out = np.empty(count, dtype=f32)
    for i in range(count):
        k = 0
        for _ in range(4):
            state = (state * 1664525 + 1013904223) & 0xFFFFFFFF
            k += (state >> 8) % 1001
        b = i // blocksize
        e = (7 * b + seed) % 13 - 8
        x = f32(f32(k - 2000) / f32(1000)) * f32(2.0 ** e)
        out[i] = f32(0) if b % 11 == 5 else x
    return out


def edge_input(quant_type, blocksize):
    """Midpoints of the quantization buckets and one ulp either side (absmax 1, then 3 so the
    reciprocal scaling rounds), +0, -0, an all-zero block, a subnormal block, an odd tail."""
    mids, _ = _get_4bit_quantize_bounds(quant_type, torch.device("cpu"))
    mids = mids.numpy().astype(f32)
    near = np.concatenate([mids, np.nextafter(mids, f32(2)), np.nextafter(mids, f32(-2))])
    def block(scale, values):
        vals = np.concatenate([[f32(1)], values, [f32(0), f32(-0.0)]]).astype(f32) * f32(scale)
        rng = np.random.default_rng(len(vals))
        fill = rng.uniform(-1, 1, blocksize).astype(f32) * f32(scale)
        out = np.concatenate([vals, fill])[:blocksize]
        return out.astype(f32)
    pieces = []
    for start in range(0, len(near), blocksize - 3):
        pieces.append(block(1, near[start:start + blocksize - 3]))
        pieces.append(block(3, near[start:start + blocksize - 3]))
    pieces.append(np.zeros(blocksize, dtype=f32))  # a whole block of zeros
    pieces.append(np.full(blocksize, f32(1e-40)) * np.where(np.arange(blocksize) % 2 == 0, 1, -1).astype(f32))
    tail = np.zeros(blocksize // 2 + 1, dtype=f32)  # an all-zero tail block of odd length
    return np.concatenate(pieces + [tail]).astype(f32)


def run_case(name, quant_type, blocksize, double_quant, x, spec):
    t = torch.from_numpy(x.copy())
    packed, state = F.quantize_4bit(t, blocksize=blocksize, quant_type=quant_type, compress_statistics=double_quant)
    deq = F.dequantize_4bit(packed, state).numpy().reshape(-1)
    case = {"name": name, "quant_type": quant_type, "blocksize": blocksize, "double_quant": double_quant,
            "count": int(x.size), "input": spec,
            "packed": packed.numpy().reshape(-1).tobytes().hex()}
    if double_quant:
        case["nested_codes"] = state.absmax.numpy().tobytes().hex()
        case["nested_absmax"] = bits(state.state2.absmax.numpy())
        case["offset"] = bits([state.offset.item()])[0]
        absmax = F.dequantize_blockwise(state.absmax, state.state2) + state.offset
        case["dequantized_absmax"] = bits(absmax.numpy())
    else:
        case["absmax"] = bits(state.absmax.numpy())
    if x.size <= 1024:
        case["dequantized"] = bits(deq)
    case["dequantized_fnv1a64"] = fnv1a64(deq)
    return case


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)
    _, order = _get_4bit_quantize_bounds("fp4", torch.device("cpu"))
    fixture = {
        "magic": "workbench-bnb-quant-fixture", "version": 1,
        "bitsandbytes": bitsandbytes.__version__, "torch": torch.__version__,
        "levels": {q: bits(F.get_4bit_type(q, device="cpu").numpy()) for q in ("nf4", "fp4")},
        "fp4_order": [int(c) for c in order],
        "dynamic_map": bits(F.create_dynamic_map().numpy()),
        "cases": [],
        "sums": [],
    }
    for count in (1, 5, 8, 9, 33, 100, 1000, 5000, 9000, 30000):
        x = np.abs(generated_input(count, count, 64))
        fixture["sums"].append({"seed": count, "count": count, "blocksize": 64, "sum": bits([torch.from_numpy(x).sum().item()])[0]})
    for quant_type in ("nf4", "fp4"):
        for blocksize in (64, 128):
            x = edge_input(quant_type, blocksize)
            fixture["cases"].append(run_case(f"{quant_type} edges b{blocksize}", quant_type, blocksize, False, x, {"bits": bits(x)}))
        for double_quant in (False, True):
            # 301 blocks of 64 and a 23-value tail: two nested groups of 256, the second ragged.
            seed, count = (11 if quant_type == "nf4" else 12), 301 * 64 + 23
            spec = {"seed": seed, "count": count, "blocksize": 64}
            x = generated_input(seed, count, 64)
            fixture["cases"].append(run_case(f"{quant_type} generated dq={int(double_quant)}", quant_type, 64, double_quant, x, spec))
        # Double quantization of a tensor whose absmaxes are all equal (nested scale 0), and of
        # one with fewer blocks than a nested group.
        x = np.tile(np.array([1.5, -0.25, 0.75, -1.5], dtype=f32), 64 * 3)
        fixture["cases"].append(run_case(f"{quant_type} equal absmax dq", quant_type, 64, True, x, {"bits": bits(x)}))
        x = generated_input(5, 64 * 7 + 9, 64)
        fixture["cases"].append(run_case(f"{quant_type} small dq", quant_type, 64, True, x, {"seed": 5, "count": int(x.size), "blocksize": 64}))
    with open(args.out, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
