import Foundation

/// A seeded pseudo-random generator that gives the same numbers on every machine and every run.
///
/// Algorithm (all integer arithmetic is wrapping UInt64):
/// - **Seeding — SplitMix64** (Steele, Lea & Flood, "Fast Splittable Pseudorandom Number
///   Generators", OOPSLA 2014; constants as in Vigna's reference `splitmix64.c`,
///   prng.di.unimi.it): x ← x + 0x9E3779B97F4A7C15; z ← x; z ← (z ⊕ z≫30)·0xBF58476D1CE4E5B9;
///   z ← (z ⊕ z≫27)·0x94D049BB133111EB; output z ⊕ z≫31. Four outputs, starting from x = seed,
///   fill the xoshiro state (never all zero: SplitMix64's output is a bijection of a Weyl sequence).
/// - **Stream — xoshiro256\*\*** (Blackman & Vigna, "Scrambled Linear Pseudorandom Number
///   Generators", ACM TOMS 47(4), 2021; reference `xoshiro256starstar.c`):
///   output rotl(s₁·5, 7)·9; then t ← s₁≪17; s₂ ⊕= s₀; s₃ ⊕= s₁; s₁ ⊕= s₂; s₀ ⊕= s₃; s₂ ⊕= t;
///   s₃ ← rotl(s₃, 45). Period 2²⁵⁶ − 1.
/// - **Floats**: `nextFloat()` = (next ≫ 40) · 2⁻²⁴ (top 24 bits, uniform on the Float grid of
///   [0, 1)); `nextDouble()` = (next ≫ 11) · 2⁻⁵³.
/// - **Normals — Box–Muller** (Box & Muller, Ann. Math. Statist. 29(2), 1958), in Double:
///   u₁ = 1 − nextDouble() ∈ (0, 1], u₂ = nextDouble(); r = sqrt(−2 ln u₁), θ = 2π u₂;
///   z₀ = r cos θ is returned and z₁ = r sin θ is kept for the next call.
/// - **Forks**: `fork(label)` seeds a child with
///   mix(seed ⊕ mix(FNV-1a-64(UTF-8 label) + 0x9E3779B97F4A7C15)), where mix is SplitMix64's
///   output function above and FNV-1a-64 uses offset basis 0xCBF29CE484222325 and prime
///   0x100000001B3 (Fowler–Noll–Vo). It depends only on the parent's *seed* and the label, never
///   on how many numbers the parent has drawn, so a part of the program that draws more numbers
///   does not shift any other part's stream. (Swift's `Hasher` is randomly seeded per process and
///   is therefore not used.)
///
/// Integer outputs are bit-identical everywhere. Float outputs of `nextFloat`/`uniform` are exact
/// integer arithmetic plus one rounding. `normal` calls the platform's `log`, `cos` and `sin`
/// on Double; a last-bit difference between libms could flip a Float rounding only in rare ties.
/// `scripts/reference_rng.py` is an independent implementation that produced the golden values
/// pinned in the tests.
public struct SeededRNG: RandomNumberGenerator, Sendable {
    /// The seed this generator was created from (forks derive from it).
    public let seed: UInt64
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64
    /// The second Box–Muller output, returned by the next `normal` call.
    private var spareNormal: Double?

    public init(seed: UInt64) {
        self.seed = seed
        var x = seed
        s0 = Self.splitMix64(&x)
        s1 = Self.splitMix64(&x)
        s2 = Self.splitMix64(&x)
        s3 = Self.splitMix64(&x)
        spareNormal = nil
    }

    /// The next 64 random bits (xoshiro256**).
    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) on a grid of 2⁻²⁴, from the top 24 bits of `next()`.
    public mutating func nextFloat() -> Float {
        Float(next() >> 40) * 0x1p-24
    }

    /// Uniform in [0, 1) on a grid of 2⁻⁵³, from the top 53 bits of `next()`.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform in [low, high): Float(low + (high − low)·u) with u = `nextFloat()`, computed in
    /// Double and rounded once; a result that rounds up to `high` is replaced by the largest Float
    /// below it. `low == high` returns `low`.
    public mutating func uniform(low: Float, high: Float) -> Float {
        precondition(low <= high, "uniform: low \(low) > high \(high)")
        let u = Double(nextFloat())
        let x = Float(Double(low) + (Double(high) - Double(low)) * u)
        return x < high || low == high ? x : high.nextDown
    }

    /// Normal with the given mean and standard deviation: mean + std·z, z from Box–Muller
    /// (see the type's comment), computed in Double and rounded once to Float.
    public mutating func normal(mean: Float = 0, std: Float = 1) -> Float {
        precondition(std >= 0, "normal: negative std \(std)")
        let z: Double
        if let spare = spareNormal {
            z = spare
            spareNormal = nil
        } else {
            let u1 = 1 - nextDouble()
            let u2 = nextDouble()
            let r = (-2 * log(u1)).squareRoot()
            let theta = 2 * Double.pi * u2
            z = r * cos(theta)
            spareNormal = r * sin(theta)
        }
        return Float(Double(mean) + Double(std) * z)
    }

    /// An independent child stream named by `label`, derived from `seed` alone (see the type's
    /// comment): the same parent seed and label always give the same child.
    public func fork(_ label: String) -> SeededRNG {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in label.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return SeededRNG(seed: Self.mix(seed ^ Self.mix(hash &+ 0x9E37_79B9_7F4A_7C15)))
    }

    // MARK: Building blocks

    /// One SplitMix64 step: advance the Weyl state and return its mixed value.
    static func splitMix64(_ x: inout UInt64) -> UInt64 {
        x = x &+ 0x9E37_79B9_7F4A_7C15
        return mix(x)
    }

    /// SplitMix64's output function (a bijection on UInt64).
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}
