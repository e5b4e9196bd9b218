import Foundation
@testable import PEFTEngine

/// A small seeded generator local to the Quant tests (SplitMix64, Steele et al. 2014, with
/// Box–Muller normals), so these tests do not depend on the project's RNG.
struct QuantTestRNG {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    /// SplitMix64: add the golden-ratio increment, then mix.
    mutating func nextUInt64() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in (0, 1]: the top 53 bits, shifted off zero.
    mutating func nextUnit() -> Double {
        (Double(nextUInt64() >> 11) + 1) / 9_007_199_254_740_992.0
    }

    /// N(0, 1) by Box–Muller (one of the pair; simplicity over speed).
    mutating func nextNormal() -> Double {
        let r = (-2 * log(nextUnit())).squareRoot()
        return r * cos(2 * Double.pi * nextUnit())
    }

    /// A tensor of i.i.d. N(0, σ²) values.
    static func normalTensor(_ shape: [Int], seed: UInt64, sigma: Float = 1) -> Tensor {
        var rng = QuantTestRNG(seed: seed)
        let n = shape.reduce(1, *)
        return Tensor(shape: shape, storage: (0..<n).map { _ in Float(rng.nextNormal()) * sigma })
    }
}

/// Code of the nibble holding element i of a packed code array (first element high).
func quantNibble(_ codes: [UInt8], _ i: Int) -> UInt8 {
    i % 2 == 0 ? codes[i / 2] >> 4 : codes[i / 2] & 0x0F
}
