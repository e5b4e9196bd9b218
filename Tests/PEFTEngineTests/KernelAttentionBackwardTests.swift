import Testing
@testable import PEFTEngine

/// `Attention.backward` against the textbook formulas evaluated in Double, on the engine's own
/// probabilities: around the length where the causal products split into two sgemms
/// (`Attention.causalSplitRows`), with and without a prefix, accumulating into random
/// gradients and overwriting them, on one and on three chunks, with a NaN-filled scratch.
@Suite struct KernelAttentionBackwardTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        var T: Int, P: Int, accumulate: Bool, workers: Int
        var testDescription: String { "T \(T) P \(P) \(accumulate ? "accumulate" : "overwrite") workers \(workers)" }
    }

    static let shapes: [Shape] = [31, 32, 33, 64].flatMap { T in
        [0, 3].flatMap { P in
            [true, false].flatMap { accumulate in [1, 3].map { Shape(T: T, P: P, accumulate: accumulate, workers: $0) } }
        }
    }

    @Test(arguments: shapes)
    func backwardMatchesTheFormulasInDouble(_ shape: Shape) {
        let B = 2, NH = 3, HS = 5, C = NH * HS, T = shape.T, P = shape.P, S = P + T
        var r = TestRandom(seed: UInt64(T * 31 + P * 7))
        let q = r.normals(B * T * C), k = r.normals(B * T * C), v = r.normals(B * T * C)
        let pk = r.normals(max(NH * P * HS, 1)), pv = r.normals(max(NH * P * HS, 1))
        let dout = r.normals(B * T * C)
        let dq0 = r.normals(B * T * C), dk0 = r.normals(B * T * C), dv0 = r.normals(B * T * C)
        let dpk0 = r.normals(pk.count), dpv0 = r.normals(pv.count)
        let problem = AttentionProblem(q: q, k: k, v: v, prefixK: pk, prefixV: pv, B: B, T: T, C: C, NH: NH, P: P)
        var att: [Float] = [], dq = dq0, dk = dk0, dv = dv0, dpk = dpk0, dpv = dpv0
        Parallel.$forcedWorkers.withValue(shape.workers) {
            att = problem.forward().att
            problem.backward(att: att, dout: dout, dq: &dq, dk: &dk, dv: &dv, dprefixK: &dpk, dprefixV: &dpv,
                             prefixGradients: true, accumulate: shape.accumulate, scratchFill: .nan)
        }
        // dvalues += Aᵀ·dout;  dZ = A ⊙ (dA − rowsum(A ⊙ dA)) / √HS with dA = dout·valuesᵀ;
        // dq += dZ·keys;  dkeys += dZᵀ·q. dq, dk, dv start from their old values only when accumulating.
        let kept: Double = shape.accumulate ? 1 : 0
        var rq = dq0.map { Double($0) * kept }, rk = dk0.map { Double($0) * kept }, rv = dv0.map { Double($0) * kept }
        var rpk = dpk0.map(Double.init), rpv = dpv0.map(Double.init)
        let scale = 1 / Double(HS).squareRoot()
        for b in 0..<B {
            for h in 0..<NH {
                func row(_ s: Int) -> Int { (b * T + s - P) * C + h * HS }
                func key(_ s: Int, _ j: Int) -> Double { Double(s < P ? pk[(h * P + s) * HS + j] : k[row(s) + j]) }
                func value(_ s: Int, _ j: Int) -> Double { Double(s < P ? pv[(h * P + s) * HS + j] : v[row(s) + j]) }
                for t in 0..<T {
                    let A = (0..<S).map { Double(att[((b * NH + h) * T + t) * S + $0]) }
                    let visible = P + t + 1, o = (b * T + t) * C + h * HS
                    var dA = [Double](repeating: 0, count: S)
                    for s in 0..<visible {
                        for j in 0..<HS {
                            dA[s] += Double(dout[o + j]) * value(s, j)
                            let g = A[s] * Double(dout[o + j])
                            if s < P { rpv[(h * P + s) * HS + j] += g } else { rv[row(s) + j] += g }
                        }
                    }
                    let dot = (0..<visible).reduce(0.0) { $0 + A[$1] * dA[$1] }
                    for s in 0..<visible {
                        let dz = A[s] * (dA[s] - dot) * scale
                        for j in 0..<HS {
                            rq[o + j] += dz * key(s, j)
                            let g = dz * Double(q[o + j])
                            if s < P { rpk[(h * P + s) * HS + j] += g } else { rk[row(s) + j] += g }
                        }
                    }
                }
            }
        }
        func worst(_ a: [Float], _ b: [Double]) -> Double { zip(a, b).map { abs(Double($0) - $1) }.max() ?? 0 }
        let tolerance = 1e-4
        for (name, got, want) in [("dq", dq, rq), ("dk", dk, rk), ("dv", dv, rv)] {
            #expect(worst(got, want) < tolerance, "\(name) off by \(worst(got, want)) (\(shape.testDescription))")
        }
        if P > 0 {
            #expect(worst(dpk, rpk) < tolerance && worst(dpv, rpv) < tolerance, "prefix gradients (\(shape.testDescription))")
        }
    }
}
