import Foundation
import Testing
@testable import PEFTEngine

/// The codebooks: NF4 re-derived from normal quantiles, FP4 and int4 from their definitions,
/// and the 8-bit dynamic map used by double quantization.
@Suite("Quant levels")
struct QuantLevelsTests {
    /// Re-derived NF4 levels must match the hard-coded Float32 ones this closely. The residual
    /// comes from bitsandbytes computing the probability grid in Float32 (≈ 1e-7 here).
    static let nf4DerivationTolerance = 1e-6

    @Test("Φ⁻¹ matches known quantiles and is odd about ½")
    func normalQuantileKnownValues() {
        #expect(NormalQuantile.inverseCDF(0.5) == 0)
        #expect(abs(NormalQuantile.inverseCDF(0.975) - 1.959963984540054) < 1e-13)
        #expect(abs(NormalQuantile.inverseCDF(0.8413447460685429) - 1.0) < 1e-13)
        #expect(abs(NormalQuantile.inverseCDF(1e-10) + 6.361340902404056) < 1e-10)
        for p in [0.001, 0.02, 0.3, 0.45] {
            #expect(abs(NormalQuantile.inverseCDF(p) + NormalQuantile.inverseCDF(1 - p)) < 1e-12, "p = \(p)")
        }
    }

    @Test("NF4 levels re-derive from normal quantiles (offset 0.9677083)")
    func nf4LevelsFromQuantiles() {
        let offset = 0.9677083
        // 8 positives: Φ⁻¹ on a 9-point grid from offset to ½, ½ dropped.
        let positives = (0..<8).map { NormalQuantile.inverseCDF(offset + Double($0) * (0.5 - offset) / 8) }
        // 7 negatives: −Φ⁻¹ on an 8-point grid from offset to ½, ½ dropped.
        let negatives = (0..<7).map { -NormalQuantile.inverseCDF(offset + Double($0) * (0.5 - offset) / 7) }
        let raw = (positives + [0] + negatives).sorted()
        let top = raw.max()!
        let derived = raw.map { $0 / top }
        #expect(derived.count == 16)
        for (code, (want, got)) in zip(derived, QuantFormat.nf4Levels).enumerated() {
            #expect(abs(Double(got) - want) < Self.nf4DerivationTolerance,
                    "NF4 code \(code): hard-coded \(got), derived \(want)")
        }
    }

    @Test("NF4 shape: 7 negative, exact 0, 8 positive, ends ±1")
    func nf4Shape() {
        let l = QuantFormat.nf4Levels
        #expect(l.filter { $0 < 0 }.count == 7)
        #expect(l.filter { $0 > 0 }.count == 8)
        #expect(l[7] == 0 && l[0] == -1 && l[15] == 1)
        #expect(zip(l, l.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test("FP4 is E2M1 over 6, sign in bit 3")
    func fp4Levels() {
        let l = QuantFormat.fp4Levels
        let magnitudes: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6]
        for code in 0..<8 {
            #expect(l[code] == magnitudes[code] / 6)
            #expect(l[code + 8] == -magnitudes[code] / 6)
        }
    }

    @Test("int4 emits q/7 for q in −7…7")
    func int4Levels() {
        let emitted = QuantFormat.int4.emittedCodes.map { QuantFormat.int4Levels[Int($0)] }.sorted()
        #expect(emitted == (-7...7).map { Float($0) / 7 })
    }

    @Test("every format emits exact 0 and ±1, strictly increasing", arguments: QuantFormat.allCases)
    func emittedLevels(format: QuantFormat) {
        let levels = format.emittedCodes.map { format.levels[Int($0)] }.sorted()
        #expect(levels.contains(0))
        #expect(levels.first == -1 && levels.last == 1)
        #expect(zip(levels, levels.dropFirst()).allSatisfy { $0 < $1 })
        #expect(Set(format.emittedCodes).count == format.emittedCodes.count)
    }

    @Test("largest half-gap per format", arguments: [
        (QuantFormat.nf4, Float((1 - 0.6961928009986877) / 2)),  // between −1 and the next level
        (QuantFormat.fp4, Float(1.0 / 6)),  // between 4/6 and 6/6
        (QuantFormat.int4, Float(1.0 / 14)),
    ])
    func halfGap(format: QuantFormat, expected: Float) {
        #expect(abs(Codebook.of(format).maxHalfGap - expected) < 1e-6)
    }

    @Test("dynamic 8-bit map: 256 sorted values, 0 and 1 present, −1 absent")
    func dynamicMap() {
        let v = DynamicQuantizationMap.values
        #expect(v.count == 256)
        #expect(zip(v, v.dropFirst()).allSatisfy { $0 < $1 })
        #expect(v.contains(0) && v.last == 1)
        #expect(abs(v.first! + 0.99296875) < 1e-7)
        // Smallest magnitude: 10⁻⁶ × the single midpoint of linspace(0.1, 1, 2) = 0.55e-6.
        #expect(abs(v.filter { $0 > 0 }.min()! - 0.55e-6) < 1e-12)
        // Largest gap: the finest exponent's fraction step 0.9/64.
        #expect(abs(DynamicQuantizationMap.maxHalfGap - 0.9 / 128) < 1e-6)
    }
}
