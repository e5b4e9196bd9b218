"""A tiny GGUF v3 file written by the reference `gguf` package, and what that package reads back.

Regenerate (needs numpy and gguf from PyPI; the project never needs Python to build or test):
    pip install gguf numpy
    python3 Tests/Fixtures/make_gguf_fixture.py --out Tests/WorkbenchTests/Fixtures/gguf

Writes:
    tiny.gguf       metadata of every value type (integers of each width, floats, bool, string,
                    arrays of strings and of integers), general.alignment 64, and one tensor of
                    each type the workbench reads: F32, F16, BF16, Q8_0, Q4_0, Q4_1 (quantized by
                    gguf.quants), plus a Q4_K tensor the workbench must name as unsupported.
    expected.json   magic "workbench-gguf-fixture", version 1; per tensor its GGUF type, shape
                    (ggml order: ne0 = innermost first) and `gguf.quants.dequantize`'s float32
                    values as bit patterns (what transformers' GGUF loader uses); the metadata.
"""
import argparse
import json
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T


def bits(a):
    return [int(v) for v in np.asarray(a, dtype=np.float32).reshape(-1).view(np.uint32)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "tiny.gguf")
    rng = np.random.default_rng(7)
    writer = gguf.GGUFWriter(path, "llama")
    writer.data_alignment = 64          # the tensors' data offsets follow general.alignment
    writer.add_custom_alignment(64)
    writer.add_uint8("test.u8", 200)
    writer.add_int8("test.i8", -5)
    writer.add_uint16("test.u16", 65000)
    writer.add_int16("test.i16", -30000)
    writer.add_int32("test.i32", -123456)
    writer.add_uint64("test.u64", 1 << 40)
    writer.add_int64("test.i64", -(1 << 40))
    writer.add_float32("test.f32", 0.1)
    writer.add_float64("test.f64", 1e-300)
    writer.add_bool("test.bool", True)
    writer.add_string("test.string", "héllo, wörld ✓")
    writer.add_array("test.strings", ["a", "", "ünïcode", "<|im_start|>"])
    writer.add_array("test.ints", [1, -2, 3])
    tensors = {}
    def add(name, data, qtype):
        data = data.astype(np.float32)
        if qtype == T.F32:
            raw, stored = data, data
        elif qtype == T.F16:
            raw = data.astype(np.float16); stored = raw
        elif qtype == T.Q4_K:  # gguf-py cannot quantize K-quants: random block bytes
            raw = rng.integers(0, 256, (data.shape[0], data.shape[1] // 256 * 144), dtype=np.uint8); stored = raw
        else:
            raw = gguf.quants.quantize(data, qtype); stored = raw
        if qtype in (T.F32, T.F16):
            writer.add_tensor(name, raw)
        else:
            writer.add_tensor(name, raw, raw_shape=raw.shape, raw_dtype=qtype)
        if qtype == T.Q4_K:
            expected = None
        else:
            expected = gguf.quants.dequantize(stored, qtype) if qtype not in (T.F32, T.F16) else np.asarray(stored, dtype=np.float32)
        tensors[name] = {"type": qtype.name, "shape": list(reversed(data.shape)),
                         "values": None if expected is None else bits(expected)}
    add("f32", rng.standard_normal((3, 5)), T.F32)
    add("f16", rng.standard_normal((4, 8)) * 3, T.F16)
    add("bf16", rng.standard_normal((2, 16)), T.BF16)
    add("q8_0", rng.standard_normal((2, 64)) * 0.02, T.Q8_0)
    add("q4_0", rng.standard_normal((3, 32)), T.Q4_0)
    add("q4_1", rng.standard_normal((2, 64)) * 0.05 + 0.01, T.Q4_1)
    add("vector", rng.standard_normal(7), T.F32)
    add("q4_k", rng.standard_normal((1, 256)), T.Q4_K)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    metadata = {
        "general.architecture": "llama", "general.alignment": 64, "test.u8": 200, "test.i8": -5, "test.u16": 65000,
        "test.i16": -30000, "test.i32": -123456, "test.u64": 1 << 40, "test.i64": -(1 << 40),
        "test.f32": bits([0.1])[0], "test.f64": 1e-300, "test.bool": True, "test.string": "héllo, wörld ✓",
        "test.strings": ["a", "", "ünïcode", "<|im_start|>"], "test.ints": [1, -2, 3],
    }
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump({"magic": "workbench-gguf-fixture", "version": 1, "gguf": gguf.__version__ if hasattr(gguf, "__version__") else "",
                   "tensors": tensors, "metadata": metadata, "tensor_order": list(tensors.keys())}, f, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
