#!/usr/bin/env python3
"""Independent reference for PEFTEngine's SeededRNG (Sources/PEFTEngine/Random/SeededRNG.swift).

Implements, from the published descriptions and with plain Python integers masked to 64 bits:
  * SplitMix64 (Steele, Lea & Flood, OOPSLA 2014; constants from Vigna's splitmix64.c) for seeding,
  * xoshiro256** (Blackman & Vigna, ACM TOMS 2021; xoshiro256starstar.c) for the stream,
  * nextFloat = (next >> 40) * 2**-24, nextDouble = (next >> 11) * 2**-53,
  * uniform(low, high) = float32(low + (high - low) * nextFloat), clamped below high,
  * Box-Muller normals in double precision (z0 = r cos t returned first, z1 = r sin t cached),
  * fork(label) = seed mix(seed ^ mix(fnv1a64(utf8 label) + 0x9E3779B97F4A7C15)).

Run by hand:  python3 scripts/reference_rng.py
It prints the golden values pinned in Tests/PEFTEngineTests/RandomSeededRNGTests.swift.
If the generator ever changes on purpose, rerun this, update both, and say so in the commit.
The Swift tests never run Python.
"""
import math
import struct

MASK = (1 << 64) - 1
GOLDEN_GAMMA = 0x9E3779B97F4A7C15


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


def to_f32(x):
    """Round a Python float (binary64) to the nearest binary32 value."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def next_down_f32(x):
    bits = struct.unpack("<I", struct.pack("<f", x))[0]
    bits = bits - 1 if x > 0 else bits + 1
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h ^= byte
        h = (h * 0x100000001B3) & MASK
    return h


class Rng:
    def __init__(self, seed):
        self.seed = seed & MASK
        x = self.seed
        state = []
        for _ in range(4):
            x = (x + GOLDEN_GAMMA) & MASK
            state.append(mix(x))
        self.s = state
        self.spare = None

    def next(self):
        s = self.s
        result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def next_float(self):
        return (self.next() >> 40) * 2.0 ** -24

    def next_double(self):
        return (self.next() >> 11) * 2.0 ** -53

    def uniform(self, low, high):
        u = self.next_float()
        x = to_f32(low + (high - low) * u)
        return x if (x < high or low == high) else next_down_f32(high)

    def normal(self, mean=0.0, std=1.0):
        if self.spare is not None:
            z, self.spare = self.spare, None
        else:
            u1 = 1.0 - self.next_double()
            u2 = self.next_double()
            r = math.sqrt(-2.0 * math.log(u1))
            theta = 2.0 * math.pi * u2
            z = r * math.cos(theta)
            self.spare = r * math.sin(theta)
        return to_f32(mean + std * z)

    def fork(self, label):
        h = fnv1a64(label.encode("utf-8"))
        return Rng(mix(self.seed ^ mix((h + GOLDEN_GAMMA) & MASK)))


def f32_repr(x):
    """Shortest decimal that round-trips as binary32 (what Swift prints for a Float)."""
    for digits in range(1, 12):
        s = "%.*g" % (digits, x)
        if to_f32(float(s)) == x:
            return s
    return repr(x)


def main():
    for seed in (0, 42):
        print(f"seed {seed}")
        r = Rng(seed)
        print("  next      :", ", ".join(f"0x{r.next():016X}" for _ in range(4)))
        r = Rng(seed)
        print("  nextFloat :", ", ".join(f32_repr(r.next_float()) for _ in range(4)))
        r = Rng(seed)
        print("  uniform(-1, 1):", ", ".join(f32_repr(r.uniform(-1.0, 1.0)) for _ in range(4)))
        r = Rng(seed)
        print("  normal    :", ", ".join(f32_repr(r.normal()) for _ in range(4)))
        c = Rng(seed).fork("model")
        print(f"  fork(\"model\") seed: 0x{c.seed:016X}")
        print("  fork(\"model\") next:", ", ".join(f"0x{c.next():016X}" for _ in range(2)))
    # Vigna's splitmix64.c seeded with 0 starts 0xE220A8397B1DCDAF (a published check value).
    x = (0 + GOLDEN_GAMMA) & MASK
    assert mix(x) == 0xE220A8397B1DCDAF, "SplitMix64 check value"


if __name__ == "__main__":
    main()
