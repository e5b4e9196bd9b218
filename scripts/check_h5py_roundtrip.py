#!/usr/bin/env python3
"""Check with h5py that a file written by the workbench's HDF5 store reads as intended.

The file must hold the reference layout written by Tests/WorkbenchTests/StoreReferenceLayoutTests.swift:

    WORKBENCH_REFERENCE_H5=/tmp/reference.h5 swift test --filter StoreReferenceLayoutTests
    python3 scripts/check_h5py_roundtrip.py /tmp/reference.h5

Checks: Float32 tensors of rank 0..4 are bit-identical to the pattern the Swift test wrote
(NaN payloads, signalling NaN, +-inf, -0, subnormal included); the compressed tensor too;
integer arrays keep dtype and values; string attributes and string datasets come back as `str`;
the completeness marker is present. Needs: pip install h5py numpy. Exit code 0 = all good.
"""
import sys

import h5py
import numpy as np

# Same as specialFloatBits in Tests/WorkbenchTests/StoreTestSupport.swift.
SPECIAL_FLOAT_BITS = [0x7FC00000, 0xFFC00001, 0x7F800001, 0x7FC12345, 0x7F800000,
                      0xFF800000, 0x80000000, 0x00000001, 0x7F7FFFFF]


def patterned_bits(shape):
    """uint32 bit patterns of patternedTensor(shape): specials at i % 3 == 0, else float32(i)*0.37 - 1.5."""
    count = int(np.prod(shape, dtype=np.int64))
    bits = np.empty(count, dtype=np.uint32)
    for i in range(count):
        if i % 3 == 0:
            bits[i] = SPECIAL_FLOAT_BITS[(i // 3) % len(SPECIAL_FLOAT_BITS)]
        else:
            value = np.float32(i) * np.float32(0.37) - np.float32(1.5)
            bits[i] = np.array(value, dtype=np.float32).view(np.uint32)
    return bits.reshape(shape)


def main(path):
    failures = []

    def check(condition, message):
        if not condition:
            failures.append(message)

    with h5py.File(path, "r") as f:
        check(f.attrs.get("workbench_complete") == 1, "workbench_complete != 1")
        for name, expected in [("study", "ΔW rank ✓"), ("workbench_version", None)]:
            value = f.attrs.get(name)
            check(isinstance(value, str), f"root attribute {name} is {type(value).__name__}, not str")
            if expected is not None:
                check(value == expected, f"root attribute {name} = {value!r}")
        check(int(f.attrs["seed"]) == 1234, "seed")
        check(float(f.attrs["learning_rate"]) == 3e-4, "learning_rate")

        shapes = {0: (), 1: (7,), 2: (3, 5), 3: (2, 3, 4), 4: (2, 1, 3, 2)}
        for rank, shape in shapes.items():
            data = f[f"tensors/rank{rank}"][()]
            data = np.asarray(data)
            check(data.dtype == np.float32, f"rank{rank} dtype {data.dtype}")
            check(data.shape == shape, f"rank{rank} shape {data.shape} != {shape}")
            check(np.array_equal(data.view(np.uint32), patterned_bits(shape)), f"rank{rank} bits differ")
        compressed = f["tensors/compressed"]
        check(compressed.compression == "gzip" and compressed.shuffle, "compressed: filters")
        check(np.array_equal(compressed[()].view(np.uint32), patterned_bits((40, 50))), "compressed bits differ")
        parameter = f["tensors/rank2"].attrs["parameter"]
        check(isinstance(parameter, str) and parameter == "layer0.attn.wq", f"parameter attr {parameter!r}")

        cell = f["runs/lora/seed0/after_task1"]
        check(int(cell.attrs["r"]) == 8, "r")
        check(float(cell.attrs["lora_alpha"]) == 16.5, "lora_alpha")
        check(cell.attrs["method"] == "lora" and isinstance(cell.attrs["method"], str), "method")

        int32 = f["ints/int32"][()]
        check(int32.dtype == np.int32 and int32.tolist() == [[-2**31, -1, 0, 1, 2**31 - 1, 42][:3],
                                                             [-2**31, -1, 0, 1, 2**31 - 1, 42][3:]], "int32")
        int64 = f["ints/int64"][()]
        check(int64.dtype == np.int64 and int64.tolist() == [-2**63, -1, 0, 1, 2**63 - 1], "int64")
        uint8 = f["ints/uint8"][()]
        check(uint8.dtype == np.uint8 and uint8.tolist() == [0, 1, 127, 128, 255], "uint8")

        check(f["scalars/loss"][()] == 0.125, "loss")
        check(f["scalars/steps"][()] == -9_000_000_000, "steps")
        note = f["scalars/note"].asstr()[()]
        check(note == "naïve ✓", f"note {note!r}")

    if failures:
        print(f"FAIL {path}:")
        for failure in failures:
            print("  -", failure)
        return 1
    print(f"OK {path}: tensors bit-exact (rank 0-4, compressed), integer dtypes kept, strings read as str")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_h5py_roundtrip.py FILE.h5")
    sys.exit(main(sys.argv[1]))
