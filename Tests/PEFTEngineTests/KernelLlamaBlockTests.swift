import Foundation
import Testing
@testable import PEFTEngine

/// The kernels of the LLaMA block — RMSNorm, rotary embedding, SwiGLU: finite-difference checks of
/// every backward, and their formulas on hand values.
@Suite("Kernels of the LLaMA block")
struct KernelLlamaBlockTests {
    @Test("RMSNorm: y = w · x / √(mean x² + ε) on a hand row; backward matches finite differences")
    func rmsNorm() {
        var y = [Float](repeating: 0, count: 2), rstd = [Float](repeating: 0, count: 1)
        RMSNorm.forward(out: &y, rstd: &rstd, x: [3, 4], weight: [1, 2], N: 1, C: 2, epsilon: 0)
        // mean x² = 12.5, rstd = 1/√12.5
        #expect(abs(rstd[0] - 1 / Float(12.5).squareRoot()) < 1e-7)
        #expect(abs(y[0] - 3 / Float(12.5).squareRoot()) < 1e-6 && abs(y[1] - 8 / Float(12.5).squareRoot()) < 1e-6)

        var r = TestRandom(seed: 11)
        let N = 5, C = 9
        var x = r.normals(N * C), w = r.normals(C, scale: 0.5).map { $0 + 1 }
        let dy = r.normals(N * C)
        func run(_ x: [Float], _ w: [Float]) -> [Float] {
            var y = [Float](repeating: 0, count: N * C), s = [Float](repeating: 0, count: N)
            RMSNorm.forward(out: &y, rstd: &s, x: x, weight: w, N: N, C: C, epsilon: 1e-5)
            return y
        }
        var out = [Float](repeating: 0, count: N * C), s = [Float](repeating: 0, count: N)
        RMSNorm.forward(out: &out, rstd: &s, x: x, weight: w, N: N, C: C, epsilon: 1e-5)
        var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: C)
        RMSNorm.backward(dx: &dx, dweight: &dw, dout: dy, x: x, weight: w, rstd: s, N: N, C: C)
        var failures = GradCheck.check("x", input: &x, analytic: dx) { GradCheck.dot(run($0, w), dy) }
        failures += GradCheck.check("weight", input: &w, analytic: dw) { GradCheck.dot(run(x, $0), dy) }
        #expect(failures.isEmpty, "RMSNorm: \(failures)")
    }

    @Test("rotary embedding: identity at position 0, norm-preserving, q·k depends only on the offset; backward matches finite differences")
    func rotary() {
        let d = 8, heads = 2, T = 5
        let rope = RotaryEmbedding(headDim: d, maxPositions: 16, base: 10_000)
        var r = TestRandom(seed: 12)
        var x = r.normals(T * heads * d)
        var y = [Float](repeating: 0, count: x.count)
        rope.forward(out: &y, x: x, rows: T, T: T, heads: heads)
        #expect(Array(y[0..<(heads * d)]) == Array(x[0..<(heads * d)]), "position 0 is not rotated")
        for n in 0..<T {
            let a = x[(n * heads * d)..<((n + 1) * heads * d)].reduce(0) { $0 + $1 * $1 }
            let b = y[(n * heads * d)..<((n + 1) * heads * d)].reduce(0) { $0 + $1 * $1 }
            #expect(abs(a - b) < 1e-4 * a, "row \(n) keeps its norm")
        }
        // θ₀ = 1: the first pair of position 1 turns by one radian.
        #expect(abs(y[heads * d] - (x[heads * d] * cos(1) - x[heads * d + d / 2] * sin(1))) < 1e-5)
        // ⟨R(p)q, R(p')k⟩ = ⟨R(p−p')q, k⟩: the same q, k at positions (3, 1) and (2, 0).
        let q = r.normals(d), k = r.normals(d)
        func rotated(_ v: [Float], at p: Int) -> [Float] {
            var out = [Float](repeating: 0, count: d)
            rope.forward(out: &out, x: v, rows: 1, T: 1, heads: 1, offset: p)
            return out
        }
        func dot(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        #expect(abs(dot(rotated(q, at: 3), rotated(k, at: 1)) - dot(rotated(q, at: 2), rotated(k, at: 0))) < 1e-4)

        let dy = r.normals(x.count)
        func run(_ x: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: x.count)
            rope.forward(out: &out, x: x, rows: T, T: T, heads: heads, offset: 3)
            return out
        }
        var dx = [Float](repeating: 0, count: x.count)
        rope.backward(dx: &dx, dout: dy, rows: T, T: T, heads: heads, offset: 3)
        let failures = GradCheck.check("x", input: &x, analytic: dx) { GradCheck.dot(run($0), dy) }
        #expect(failures.isEmpty, "rotary: \(failures)")
    }

    @Test("SwiGLU: SiLU(g) ⊙ u on hand values; backward matches finite differences for gate and up")
    func swiGLU() {
        var h = [Float](repeating: 0, count: 3)
        SwiGLU.forward(out: &h, gate: [0, 1, -2], up: [5, 2, 3], N: 3)
        #expect(h[0] == 0)
        #expect(abs(h[1] - 2 / (1 + exp(-1))) < 1e-6 && abs(h[2] - 3 * (-2) / (1 + exp(2))) < 1e-6)

        var r = TestRandom(seed: 13)
        let N = 17
        var g = r.normals(N, scale: 2), u = r.normals(N)
        let dy = r.normals(N)
        func run(_ g: [Float], _ u: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: N)
            SwiGLU.forward(out: &out, gate: g, up: u, N: N)
            return out
        }
        var dg = [Float](repeating: 0, count: N), du = dg
        SwiGLU.backward(dgate: &dg, dup: &du, dout: dy, gate: g, up: u, N: N)
        var failures = GradCheck.check("gate", input: &g, analytic: dg) { GradCheck.dot(run($0, u), dy) }
        failures += GradCheck.check("up", input: &u, analytic: du) { GradCheck.dot(run(g, $0), dy) }
        #expect(failures.isEmpty, "SwiGLU: \(failures)")
    }

    @Test("SwiGLU: eight-lane and tail elements get the same bits, wherever chunks split; overwrite equals zero + accumulate")
    func swiGLULanes() {
        var r = TestRandom(seed: 17)
        let N = 40_003
        let g = r.normals(N, scale: 4), u = r.normals(N), dy = r.normals(N)
        var whole = [Float](repeating: 0, count: N)
        SwiGLU.forward(out: &whole, gate: g, up: u, N: N)
        var one = [Float](repeating: 0, count: 1), mismatches = 0
        for i in stride(from: 0, to: N, by: 97) {
            SwiGLU.forward(out: &one, gate: [g[i]], up: [u[i]], N: 1)
            if one[0] != whole[i] { mismatches += 1 }
        }
        #expect(mismatches == 0)
        var dg = [Float](repeating: 0, count: N), du = dg, dgOver = dg, duOver = dg
        SwiGLU.backward(dgate: &dg, dup: &du, dout: dy, gate: g, up: u, N: N)
        SwiGLU.backward(dgate: &dgOver, dup: &duOver, dout: dy, gate: g, up: u, N: N, accumulate: false)
        #expect(dg == dgOver && du == duOver)
        let worst = (0..<N).map { i -> Float in
            let s = 1 / (1 + exp(-g[i]))
            return abs(whole[i] - g[i] * s * u[i]) / max(abs(g[i] * s * u[i]), 1e-6)
        }.max()!
        #expect(worst < 1e-5, "relative error against expf: \(worst)")
    }

    @Test("repeat_kv: each KV head serves H/K query heads; backward sums them (finite differences)")
    func repeatKV() {
        var out = [Float](repeating: 0, count: 6)
        RepeatKV.forward(out: &out, x: [1, 2], rows: 1, kvHeads: 2, heads: 6, headDim: 1)
        #expect(out == [1, 1, 1, 2, 2, 2])
        var r = TestRandom(seed: 14)
        let rows = 3, K = 3, H = 9, d = 4
        var x = r.normals(rows * K * d)
        let dy = r.normals(rows * H * d)
        func run(_ x: [Float]) -> [Float] {
            var y = [Float](repeating: 0, count: rows * H * d)
            RepeatKV.forward(out: &y, x: x, rows: rows, kvHeads: K, heads: H, headDim: d)
            return y
        }
        var dx = [Float](repeating: 0, count: x.count)
        RepeatKV.backward(dx: &dx, dout: dy, rows: rows, kvHeads: K, heads: H, headDim: d)
        let failures = GradCheck.check("x", input: &x, analytic: dx) { GradCheck.dot(run($0), dy) }
        #expect(failures.isEmpty, "repeat_kv: \(failures)")
    }
}
