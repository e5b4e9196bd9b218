import Foundation
import Testing
@testable import PEFTEngine

/// KL(p ‖ q) of two logits rows against its definition Σ p_v ln(p_v / q_v), computed by hand and
/// in Double.
@Suite struct KernelKLDivergenceTests {
    /// Σ_v p_v ln(p_v / q_v) with p, q the softmaxes, in Double.
    static func reference(_ zp: [Float], _ zq: [Float]) -> Double {
        func softmax(_ z: [Float]) -> [Double] {
            let m = Double(z.max()!)
            let e = z.map { Foundation.exp(Double($0) - m) }
            let s = e.reduce(0, +)
            return e.map { $0 / s }
        }
        let p = softmax(zp), q = softmax(zq)
        return zip(p, q).reduce(0) { $0 + $1.0 * Foundation.log($1.0 / $1.1) }
    }

    static func run(_ zp: [Float], _ zq: [Float], mask: [Float], V: Int) -> (rows: [Double], total: Double) {
        let N = mask.count
        var out = [Double](repeating: -1, count: N)
        let total = zp.withUnsafeBufferPointer { p in
            zq.withUnsafeBufferPointer { q in
                mask.withUnsafeBufferPointer { m in
                    out.withUnsafeMutableBufferPointer { o in
                        KLDivergence.rows(out: o.baseAddress!, p: p.baseAddress!, q: q.baseAddress!, mask: m.baseAddress!, N: N, V: V)
                    }
                }
            }
        }
        return (out, total)
    }

    @Test("p = (1/3, 2/3), q = (1/2, 1/2): KL = ⅓ ln(2/3) + ⅔ ln(4/3) = 0.0566 nats")
    func twoTokensByHand() {
        let byHand = (1.0 / 3) * Foundation.log(2.0 / 3) + (2.0 / 3) * Foundation.log(4.0 / 3)
        let result = Self.run([0, Float(Foundation.log(2.0))], [5, 5], mask: [1], V: 2)
        #expect(abs(result.rows[0] - byHand) < 1e-6)
        #expect(abs(result.total - byHand) < 1e-6)
    }

    @Test("a model against itself: 0; masked-out rows: 0 and not counted")
    func identicalAndMaskedRows() {
        var rng = SeededRNG(seed: 4)
        let z = (0..<(3 * 37)).map { _ in (rng.nextFloat() - 0.5) * 6 }
        let shifted = (0..<(3 * 37)).map { _ in (rng.nextFloat() - 0.5) * 6 }
        let same = Self.run(z, z, mask: [1, 1, 1], V: 37)
        #expect(same.rows.allSatisfy { abs($0) < 1e-6 })
        let masked = Self.run(z, shifted, mask: [1, 0, 1], V: 37)
        #expect(masked.rows[1] == 0)
        #expect(abs(masked.total - (masked.rows[0] + masked.rows[2])) < 1e-12)
    }

    @Test("random rows of V = 1 … 70 (every lane remainder) and a 49,152-wide row: within 2e-5 relative of the Double definition")
    func randomRowsMatchTheDefinition() {
        var rng = SeededRNG(seed: 9)
        for V in [1, 2, 7, 8, 9, 17, 70, 49_152] {
            let zp = (0..<V).map { _ in (rng.nextFloat() - 0.5) * 4 }
            let zq = (0..<V).map { _ in (rng.nextFloat() - 0.5) * 4 }
            let got = Self.run(zp, zq, mask: [1], V: V).rows[0]
            let want = Self.reference(zp, zq)
            #expect(abs(got - want) <= 2e-5 * max(want, 1e-3), "V = \(V): \(got) vs \(want)")
        }
    }
}
