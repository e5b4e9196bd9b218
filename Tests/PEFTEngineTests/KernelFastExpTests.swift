import Foundation
import Testing
@testable import PEFTEngine

/// `FastExp.exp` against glibc's `expf`.
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
}
