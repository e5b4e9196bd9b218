import Foundation
import Testing
@testable import PEFTEngine

/// `FastExp.exp` against glibc's `expf`, `FastExp.exp2` against `exp2` in Double.
@Suite struct KernelFastExpTests {
    /// Relative error bound: a few Float32 ulps (ulp/2 ≈ 6e-8).
    static let relativeTolerance: Float = 5e-7

    @Test func matchesExpfAcrossTheRange() {
        var worst: Float = 0, worstX: Float = 0
        var x: Float = -87
        while x <= 88 {
            let fast = FastExp.exp(x), ref = expf(x)
            let rel = abs(fast - ref) / ref
            if rel > worst { worst = rel; worstX = x }
            x += 0.001_7
        }
        #expect(worst < Self.relativeTolerance, "worst relative error \(worst) at x = \(worstX)")
        #expect(FastExp.exp(0) == 1)
        #expect(FastExp.exp(1) == expf(1) || abs(FastExp.exp(1) - expf(1)) <= Float(1).ulp * 3)
    }

    @Test func clampsInsteadOfOverflowing() {
        #expect(FastExp.exp(-1000) > 0 && FastExp.exp(-1000) <= expf(-87) * 1.000_001)
        #expect(FastExp.exp(1000).isFinite)
        #expect(!FastExp.exp(-.infinity).isNaN)
    }

    @Test func eightLanesEqualTheScalarBitForBit() {
        var r = TestRandom(seed: 11)
        let x = r.normals(64, scale: 40) + [-1000, 1000, -87, 88, 0, -0.5, 0.5, -.infinity]
        for start in stride(from: 0, to: x.count, by: 8) {
            let lanes = SIMD8<Float>(x[start..<(start + 8)])
            let fast = FastExp.exp(lanes)
            for i in 0..<8 { #expect(fast[i].bitPattern == FastExp.exp(x[start + i]).bitPattern, "x = \(x[start + i])") }
        }
    }

    @Test func exp2MatchesDoubleAcrossTheRange() {
        var worst: Double = 0, worstY: Float = 0
        var y: Float = -126
        while y <= 126 {
            let rel = abs(Double(FastExp.exp2(y)) / Foundation.exp2(Double(y)) - 1)
            if rel > worst { worst = rel; worstY = y }
            y += 0.000_93
        }
        // Worst over every Float32 y in range ≈ 1.04e-7 (the polynomial ≈ 2e-9, the rest rounding).
        #expect(worst < 2e-7, "worst relative error \(worst) at y = \(worstY)")
        for n in -126...126 { #expect(FastExp.exp2(Float(n)) == Float(Foundation.exp2(Double(n))), "2^\(n) is exact") }
    }

    @Test func exp2ClampsToNormalFloats() {
        #expect(FastExp.exp2(-1000) == Float.leastNormalMagnitude, "2^−126")
        #expect(FastExp.exp2(1000) == Float(Foundation.exp2(126.0)))
        #expect(FastExp.exp2(-.infinity).isNormal && FastExp.exp2(.infinity).isNormal)
    }

    @Test func exp2EightLanesEqualTheScalarBitForBit() {
        var r = TestRandom(seed: 12)
        let y = r.normals(64, scale: 60) + [-1000, 1000, -126, 126, 0, -0.5, 0.5, -.infinity]
            + [.infinity, .nan, -126.5, 126.5, -125.5, 125.5, -0.0, Float.leastNonzeroMagnitude]
        for start in stride(from: 0, to: y.count, by: 8) {
            let fast = FastExp.exp2(SIMD8<Float>(y[start..<(start + 8)]))
            for i in 0..<8 {
                let scalar = FastExp.exp2(y[start + i])
                #expect(fast[i].bitPattern == scalar.bitPattern || (fast[i].isNaN && scalar.isNaN), "y = \(y[start + i])")
            }
        }
    }

    /// The softmax helpers (base e and base 2) against their serial reference on odd lengths
    /// (tail-only, one vector, both).
    @Test(arguments: [1, 3, 8, 13, 64, 81], [false, true])
    func exponentiateMatchesItsReference(count n: Int, base2: Bool) {
        var r = TestRandom(seed: UInt64(30 + n))
        let x = r.normals(n, scale: 5)
        func fastPowers(_ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>) -> (max: Float, sum: Float) {
            base2 ? FastExp.exponentiate2(out: out, x: x, count: n) : FastExp.exponentiate(out: out, x: x, count: n)
        }
        var fast = [Float](repeating: 0, count: n), slow = fast
        let f = fastPowers(&fast, x)
        let s = FastExp.exponentiateReference(out: &slow, x: x, count: n, base2: base2)
        #expect(f.max == s.max && fast == slow, "count \(n)")
        #expect(abs(f.sum - s.sum) <= 1e-6 * s.sum, "sum \(f.sum) vs \(s.sum), count \(n)")
        var inPlace = x
        let p = inPlace.withUnsafeMutableBufferPointer { fastPowers($0.baseAddress!, $0.baseAddress!) }
        #expect(inPlace == fast && p.max == f.max && p.sum == f.sum, "in place, count \(n)")
        if base2 {
            // Against 2^d in Double for the same Float difference d = x − max (its rounding is the input's).
            let worst = zip(x, slow).map { abs(Double($1) / Foundation.exp2(Double($0 - s.max)) - 1) }.max() ?? 0
            #expect(worst < 2e-7, "2^(x − max) off by \(worst) relative")
        }
    }
}
