import Foundation
import Testing
@testable import PEFTEngine

/// The codebooks: NF4 re-derived from normal quantiles, bitsandbytes' FP4, OCP E2M1 and int4
/// from their definitions, and the 8-bit dynamic map used by double quantization.
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

    @Test("FP4 is bitsandbytes' table {0, 0.0625, 8, 12, 4, 6, 2, 3}/12, sign in bit 3, both zeros +0")
    func fp4Levels() {
        let l = QuantFormat.fp4Levels
        let magnitudes: [Float] = [0, 0.0625, 8, 12, 4, 6, 2, 3]
        for code in 0..<8 {
            #expect(l[code] == magnitudes[code] / 12)
            #expect(l[code + 8] == -magnitudes[code] / 12)
        }
        #expect(l[8].sign == .plus, "bitsandbytes' code 8 is +0.0")
        // Sorted magnitudes in twelfths: 0, 1/16, 2, 3, 4, 6, 8, 12; the gap above 1/16 is the widest near 0.
        #expect(Set(l.map(abs)).sorted() == [0, 0.0625, 2, 3, 4, 6, 8, 12].map { Float($0) / 12 })
    }

    @Test("FP4's quantization order sorts its levels, +0 before the sign-bit zero")
    func fp4Order() {
        let order = QuantFormat.fp4.quantizationOrder
        #expect(Set(order) == Set(0...15))
        let levels = order.map { QuantFormat.fp4Levels[Int($0)] }
        #expect(zip(levels, levels.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(Array(order[7...8]) == [0, 8])
        // A small positive value takes code 8, a small negative one (or 0) code 0.
        #expect(Codebook.fp4.code(nearest: 0.001) == 8)
        #expect(Codebook.fp4.code(nearest: -0.001) == 0 && Codebook.fp4.code(nearest: 0) == 0)
    }

    @Test("E2M1 is the OCP MX grid over 6, sign in bit 3")
    func e2m1Levels() {
        let l = QuantFormat.e2m1Levels
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

    @Test("every format emits exact 0 and ±1 in ascending order, each code once", arguments: QuantFormat.allCases)
    func emittedLevels(format: QuantFormat) {
        let levels = format.quantizationOrder.map { format.levels[Int($0)] }
        #expect(levels.contains(0))
        #expect(levels.first == -1 && levels.last == 1)
        #expect(zip(levels, levels.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(zip(levels, levels.dropFirst()).filter { $0 == $1 }.count == (format == .fp4 ? 1 : 0), "only FP4 has two codes for one level (0)")
        #expect(Set(format.quantizationOrder).count == format.quantizationOrder.count)
    }

    @Test("largest half-gap per format", arguments: [
        (QuantFormat.nf4, Float((1 - 0.6961928009986877) / 2)),  // between −1 and the next level
        (QuantFormat.fp4, Float(2.0 / 12)),  // between 8/12 and 12/12
        (QuantFormat.e2m1, Float(1.0 / 6)),  // between 4/6 and 6/6
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

    @Test("dynamic map: every stored Float32 entry is within one ulp of the formula in Double")
    func dynamicMapFromFormula() {
        var data: [Double] = [0, 1]
        for i in 0..<7 {
            let n = 1 << i
            let decade = (0..<(6 - i)).reduce(1.0) { r, _ in r / 10 }
            for j in 0..<n {
                let mean = 0.1 + (Double(j) + 0.5) * 0.9 / Double(n)
                data += [decade * mean, -decade * mean]
            }
        }
        let derived = data.sorted()
        for (k, (stored, want)) in zip(DynamicQuantizationMap.values, derived).enumerated() {
            let rounded = Float(want)
            let ulps = abs(Int64(Int32(bitPattern: stored.bitPattern)) - Int64(Int32(bitPattern: rounded.bitPattern)))
            #expect(ulps <= 1, "entry \(k): stored \(stored), formula \(want)")
        }
    }

    @Test("bitsandbytes' 65,536-bin lookup: bins map to the value nearest their centre")
    func dynamicMapLookup() {
        let v = DynamicQuantizationMap.values
        DynamicQuantizationMap.lookupTable.withUnsafeBufferPointer { table in
            for x in stride(from: Float(-1), through: 1, by: 0.001) {
                let code = Int(DynamicQuantizationMap.code(of: x, table: table.baseAddress!))
                #expect(abs(v[code] - x) <= DynamicQuantizationMap.maxLookupError, "x = \(x) → \(v[code])")
            }
            // The map's own values (clamped to [−1, 1]) find themselves when away from a bin edge.
            #expect(DynamicQuantizationMap.code(of: 1, table: table.baseAddress!) == 255)
            // 0 falls in bin 32768, whose centre is 1/65535 ≈ 1.5e-5: closest to the value 2.125e-5,
            // not to the map's 0. An absmax equal to the mean is stored 2.125e-5·scale high.
            let zero = Int(DynamicQuantizationMap.code(of: 0, table: table.baseAddress!))
            #expect(zero == v.firstIndex(of: 0)! + 4 && abs(v[zero] - 2.125e-5) < 1e-10)
            #expect(DynamicQuantizationMap.code(of: -2, table: table.baseAddress!) == 0)
        }
    }
}
