"""Writes Tests/WorkbenchTests/Fixtures/checkpoints/header_cases.json: safetensors files with
hand-made and randomly mutated headers, each with the verdict of the reference reader
(safetensors 0.8's Rust `deserialize`, which parses and validates the header exactly as
`safe_open` does): accepted with its tensors' dtype, shape and offsets, or refused with its
message. The Swift test (CheckpointSafetensorsHeaderRulesTests) must reach the same verdict on
every case. `python3 make_safetensors_header_fixture.py` (needs safetensors==0.8.0).
"""
import base64
import json
import random
import struct
from pathlib import Path

import safetensors
from safetensors import deserialize

OUT = Path(__file__).resolve().parent.parent / "WorkbenchTests" / "Fixtures" / "checkpoints" / "header_cases.json"


def pack(header, data):
    raw = header.encode("utf-8", "surrogatepass") if isinstance(header, str) else header
    return struct.pack("<Q", len(raw)) + raw + data


def entry(dtype="F32", shape="[2,2]", offsets="[0,16]", extra=""):
    return '{"dtype":"%s","shape":%s,"data_offsets":%s%s}' % (dtype, shape, offsets, extra)


ONE = '{"a":' + entry() + '}'
Z16 = b"\0" * 16

HAND = [
    ("valid", ONE, Z16),
    ("leading space", " " + ONE, Z16),
    ("leading newline and tab", "\n\t" + ONE, Z16),
    ("leading carriage return", "\r" + ONE, Z16),
    ("trailing spaces (the writer's padding)", ONE + "    ", Z16),
    ("leading form feed", "\x0c" + ONE, Z16),
    ("leading byte order mark", "\ufeff" + ONE, Z16),
    ("trailing NUL", ONE + "\0", Z16),
    ("trailing comma", ONE[:-1] + ",}", Z16),
    ("float extent 2.0", '{"a":' + entry(shape="[2.0,2]") + '}', Z16),
    ("float extent 2e0", '{"a":' + entry(shape="[2e0,2]") + '}', Z16),
    ("float offset 16.0", '{"a":' + entry(offsets="[0,16.0]") + '}', Z16),
    ("exponent offset 1E1", '{"a":' + entry(offsets="[0,1E1]") + '}', b"\0" * 10),
    ("negative extent", '{"a":' + entry(shape="[-2,2]") + '}', Z16),
    ("negative zero extent", '{"a":' + entry(shape="[-0,4]", offsets="[0,0]") + '}', b""),
    ("plus sign", '{"a":' + entry(shape="[+2,2]") + '}', Z16),
    ("leading zero", '{"a":' + entry(shape="[02,2]") + '}', Z16),
    ("extent above 2^64", '{"a":' + entry(shape="[18446744073709551616,0]", offsets="[0,0]") + '}', b""),
    ("product overflows", '{"a":' + entry(shape="[4294967296,4294967296,2]") + '}', Z16),
    ("extent string", '{"a":' + entry(shape='["2",2]') + '}', Z16),
    ("shape null", '{"a":' + entry(shape="null") + '}', Z16),
    ("shape object", '{"a":' + entry(shape="{}") + '}', Z16),
    ("scalar", '{"a":' + entry(shape="[]", offsets="[0,4]") + '}', b"\0" * 4),
    ("zero extent", '{"a":' + entry(shape="[0,2]", offsets="[0,0]") + '}', b""),
    ("three offsets", '{"a":' + entry(offsets="[0,16,16]") + '}', Z16),
    ("one offset", '{"a":' + entry(offsets="[0]") + '}', Z16),
    ("offsets reversed", '{"a":' + entry(offsets="[16,0]") + '}', Z16),
    ("missing shape", '{"a":{"dtype":"F32","data_offsets":[0,16]}}', Z16),
    ("missing dtype", '{"a":{"shape":[2,2],"data_offsets":[0,16]}}', Z16),
    ("dtype null", '{"a":' + entry().replace('"F32"', "null") + '}', Z16),
    ("dtype lower case", '{"a":' + entry(dtype="f32") + '}', Z16),
    ("dtype unknown", '{"a":' + entry(dtype="F31") + '}', Z16),
    ("unknown field", '{"a":' + entry(extra=',"x":[1,{"y":null}]') + '}', Z16),
    ("repeated field", '{"a":{"dtype":"F32","dtype":"F16","shape":[2,2],"data_offsets":[0,16]}}', Z16),
    ("repeated tensor, last kept", '{"a":' + entry(shape="[4,4]", offsets="[0,64]") + ',"a":' + entry() + '}', Z16),
    ("repeated tensor, last too large", '{"a":' + entry() + ',"a":' + entry(shape="[4,4]", offsets="[0,64]") + '}', Z16),
    ("tensor null", '{"a":null}', Z16),
    ("tensor array", '{"a":[]}', Z16),
    ("empty header with data", "{}", Z16),
    ("empty header, no data", "{}", b""),
    ("top level array", "[]", Z16),
    ("empty name", '{"":' + entry() + '}', Z16),
    ("escaped name", '{"a\\u0041":' + entry() + '}', Z16),
    ("escaped surrogate pair", '{"a\\ud83d\\ude00":' + entry() + '}', Z16),
    ("lone surrogate", '{"a\\ud800":' + entry() + '}', Z16),
    ("invalid escape", '{"a\\x":' + entry() + '}', Z16),
    ("raw tab in name", '{"a\tb":' + entry() + '}', Z16),
    ("raw DEL in name", '{"a\x7fb":' + entry() + '}', Z16),
    ("metadata", '{"__metadata__":{"format":"pt"},"a":' + entry() + '}', Z16),
    ("metadata null", '{"__metadata__":null,"a":' + entry() + '}', Z16),
    ("metadata value integer", '{"__metadata__":{"k":1},"a":' + entry() + '}', Z16),
    ("metadata value object", '{"__metadata__":{"k":{"a":"b"}},"a":' + entry() + '}', Z16),
    ("metadata string", '{"__metadata__":"x","a":' + entry() + '}', Z16),
    ("metadata array", '{"__metadata__":[],"a":' + entry() + '}', Z16),
    ("metadata twice", '{"__metadata__":{"a":"1"},"__metadata__":{"b":"2"},"a":' + entry() + '}', Z16),
    ("metadata key twice", '{"__metadata__":{"a":"1","a":"2"},"a":' + entry() + '}', Z16),
    ("gap before", '{"a":' + entry(shape="[2,1]", offsets="[8,16]") + '}', Z16),
    ("data not covered", '{"a":' + entry(shape="[2,1]", offsets="[0,8]") + '}', Z16),
    ("overlap", '{"a":' + entry() + ',"b":' + entry() + '}', Z16),
    ("two tensors", '{"b":' + entry(shape="[2]", offsets="[8,16]") + ',"a":' + entry(shape="[2]", offsets="[0,8]") + '}', Z16),
    ("wrong byte count", '{"a":' + entry(shape="[3,2]") + '}', Z16),
    ("BOOL", '{"a":' + entry(dtype="BOOL", shape="[16]") + '}', Z16),
    ("F4", '{"a":' + entry(dtype="F4", shape="[32]") + '}', Z16),
    ("F4 not filling a byte", '{"a":' + entry(dtype="F4", shape="[3]", offsets="[0,2]") + '}', b"\0\0"),
    ("F6_E2M3", '{"a":' + entry(dtype="F6_E2M3", shape="[16]", offsets="[0,12]") + '}', b"\0" * 12),
    ("F8_E8M0", '{"a":' + entry(dtype="F8_E8M0", shape="[16]") + '}', Z16),
    ("C64", '{"a":' + entry(dtype="C64", shape="[2]") + '}', Z16),
    ("E8M0 (not a dtype)", '{"a":' + entry(dtype="E8M0", shape="[16]") + '}', Z16),
    # serde_json's recursion limit: 127 nested arrays and objects in all, the header's own two included.
    ("nesting depth 127 in all", '{"a":' + entry(extra=',"x":' + "[" * 125 + "]" * 125) + '}', Z16),
    ("nesting depth 128 in all", '{"a":' + entry(extra=',"x":' + "[" * 126 + "]" * 126) + '}', Z16),
    ("nesting depth 200 in an unknown field", '{"a":' + entry(extra=',"x":' + "[" * 200 + "]" * 200) + '}', Z16),
    ("invalid UTF-8", b'{"a\xff":' + entry().encode() + b'}', Z16),
    ("truncated JSON", ONE[:-3], Z16),
]


def raw_cases():
    cases = [(name, pack(header, data)) for name, header, data in HAND]
    cases.append(("header length 0", struct.pack("<Q", 0) + b"{}"))
    cases.append(("header length past the end", struct.pack("<Q", 1000) + ONE.encode() + Z16))
    cases.append(("header length above 100 MB", struct.pack("<Q", 100_000_001) + ONE.encode() + Z16))
    cases.append(("fewer than 8 bytes", b"\x02\0\0"))
    return cases


BASE = {"w": ("F32", [2, 3]), "h": ("F16", [4]), "b": ("BF16", [2, 2])}
VALUES = ["0", "1", "2", "3", "-1", "2.0", "1e1", "-0", "null", "true", '"2"', "[]", "{}",
          "9223372036854775807", "18446744073709551615", "18446744073709551616"]
DTYPES = ['"F32"', '"F16"', '"BF16"', '"F64"', '"I8"', '"U8"', '"BOOL"', '"F4"', '"f32"', '""', "7", "null"]


def mutated_cases(count, rng):
    """Random single mutations of a three-tensor file, written as JSON text by hand so that
    integers, floats and repeated keys stay as typed."""
    cases = []
    for index in range(count):
        fields = {}
        offset = 0
        for name, (dtype, shape) in BASE.items():
            size = {"F32": 4, "F16": 2, "BF16": 2}[dtype] * (shape[0] * (shape[1] if len(shape) > 1 else 1))
            fields[name] = {"dtype": '"%s"' % dtype, "shape": "[" + ",".join(map(str, shape)) + "]",
                            "data_offsets": "[%d,%d]" % (offset, offset + size)}
            offset += size
        data = bytes(rng.randrange(256) for _ in range(offset))
        what = ""
        name = rng.choice(list(BASE))
        kind = rng.randrange(6)
        if kind == 0:
            field = rng.choice(["shape", "data_offsets"])
            items = fields[name][field][1:-1].split(",") if fields[name][field] != "[]" else []
            if items and rng.random() < 0.7:
                items[rng.randrange(len(items))] = rng.choice(VALUES)
            else:
                items.append(rng.choice(VALUES))
            fields[name][field] = "[" + ",".join(items) + "]"
            what = "%s.%s = %s" % (name, field, fields[name][field])
        elif kind == 1:
            fields[name]["dtype"] = rng.choice(DTYPES)
            what = "%s.dtype = %s" % (name, fields[name]["dtype"])
        elif kind == 2:
            fields[name][rng.choice(["shape", "data_offsets", "dtype"])] = rng.choice(VALUES)
            what = "%s field replaced" % name
        elif kind == 3:
            del fields[name][rng.choice(["shape", "data_offsets", "dtype"])]
            what = "%s field deleted" % name
        elif kind == 4:
            cut = rng.randrange(len(data) + 1)
            data = data[:cut] if rng.random() < 0.5 else data + b"\0" * rng.randrange(1, 9)
            what = "data resized to %d bytes" % len(data)
        else:
            del fields[name]
            what = "%s deleted" % name
        body = ",".join('"%s":{%s}' % (n, ",".join('"%s":%s' % kv for kv in f.items())) for n, f in fields.items())
        if rng.random() < 0.2:
            body = '"__metadata__":{"format":"pt"},' + body
        cases.append(("mutation %d: %s" % (index, what), pack("{" + body + "}", data)))
    return cases


def verdict(blob):
    try:
        tensors = deserialize(blob)
    except Exception as error:  # the reader's SafetensorError
        return {"accepted": False, "reference_error": str(error)[:200]}
    header_length = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + header_length].decode("utf-8"), object_pairs_hook=lambda pairs: dict(pairs))
    out = {}
    for name, view in tensors:
        offsets = header[name]["data_offsets"]
        out[name] = {"dtype": view["dtype"], "shape": list(view["shape"]), "data_offsets": offsets}
    return {"accepted": True, "tensors": out}


def main():
    rng = random.Random(19)
    cases = []
    for name, blob in raw_cases() + mutated_cases(160, rng):
        case = {"name": name, "file_base64": base64.b64encode(blob).decode()}
        case.update(verdict(blob))
        cases.append(case)
    OUT.write_text(json.dumps({"reference": "safetensors " + safetensors.__version__, "cases": cases}, indent=1) + "\n")
    accepted = sum(c["accepted"] for c in cases)
    print(f"wrote {OUT}: {len(cases)} cases, {accepted} accepted by the reference")


if __name__ == "__main__":
    main()
