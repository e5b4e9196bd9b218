import Testing
@testable import PEFTEngine

/// Every kernel's backward agrees with central finite differences of Σ y·dy.
@Suite struct KernelGradCheckTests {
    @Test func layerNormBackwardMatchesFiniteDifferences() {
        var r = TestRandom(seed: 1)
        let N = 4, C = 7
        var x = r.normals(N * C), w = r.normals(C, scale: 0.5).map { $0 + 1 }, b = r.normals(C)
        let dy = r.normals(N * C)
        func run(_ x: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
            var y = [Float](repeating: 0, count: N * C), mean = [Float](repeating: 0, count: N), rstd = mean
            LayerNorm.forward(out: &y, mean: &mean, rstd: &rstd, x: x, weight: w, bias: b, N: N, C: C)
            return y
        }
        var mean = [Float](repeating: 0, count: N), rstd = mean, y = [Float](repeating: 0, count: N * C)
        LayerNorm.forward(out: &y, mean: &mean, rstd: &rstd, x: x, weight: w, bias: b, N: N, C: C)
        var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: C), db = dw
        LayerNorm.backward(dx: &dx, dweight: &dw, dbias: &db, dout: dy, x: x, weight: w, mean: mean, rstd: rstd, N: N, C: C)
        var failures = GradCheck.check("x", input: &x, analytic: dx) { GradCheck.dot(run($0, w, b), dy) }
        failures += GradCheck.check("weight", input: &w, analytic: dw) { GradCheck.dot(run(x, $0, b), dy) }
        failures += GradCheck.check("bias", input: &b, analytic: db) { GradCheck.dot(run(x, w, $0), dy) }
        #expect(failures.isEmpty, "LayerNorm: \(failures)")
    }

    @Test func linearBackwardMatchesFiniteDifferences() {
        var r = TestRandom(seed: 2)
        let M = 5, IC = 3, OC = 4
        var x = r.normals(M * IC), w = r.normals(OC * IC), b = r.normals(OC)
        let dy = r.normals(M * OC)
        func run(_ x: [Float], _ w: [Float], _ b: [Float]) -> [Float] {
            var y = [Float](repeating: 0, count: M * OC)
            Linear.forward(out: &y, x: x, weight: w, bias: b, M: M, IC: IC, OC: OC)
            return y
        }
        var dx = [Float](repeating: 0, count: M * IC), dw = [Float](repeating: 0, count: OC * IC), db = [Float](repeating: 0, count: OC)
        Linear.backward(dx: &dx, dweight: &dw, dbias: &db, dout: dy, x: x, weight: w, M: M, IC: IC, OC: OC)
        var failures = GradCheck.check("x", input: &x, analytic: dx) { GradCheck.dot(run($0, w, b), dy) }
        failures += GradCheck.check("weight", input: &w, analytic: dw) { GradCheck.dot(run(x, $0, b), dy) }
        failures += GradCheck.check("bias", input: &b, analytic: db) { GradCheck.dot(run(x, w, $0), dy) }
        #expect(failures.isEmpty, "Linear: \(failures)")
    }

    @Test func geluBackwardMatchesFiniteDifferences() {
        var r = TestRandom(seed: 3)
        let N = 23
        var x = r.normals(N, scale: 2)
        let dy = r.normals(N)
        func run(_ x: [Float]) -> [Float] {
            var y = [Float](repeating: 0, count: N), gate = y
            GELU.forward(out: &y, gate: &gate, x: x, N: N)
            return y
        }
        var dx = [Float](repeating: 0, count: N), y = dx, gate = dx
        GELU.forward(out: &y, gate: &gate, x: x, N: N)
        GELU.backward(dx: &dx, dout: dy, x: x, gate: gate, N: N)
        let failures = GradCheck.check("x", input: &x, analytic: dx) { GradCheck.dot(run($0), dy) }
        #expect(failures.isEmpty, "GELU: \(failures)")
    }

    @Test func geluIsTheTanhApproximation() {
        // gelu_tanh(1) = ½(1 + tanh(√(2/π)(1 + 0.044715))) = 0.8411920 (float64 value)
        var y: [Float] = [0, 0, 0], gate = y
        GELU.forward(out: &y, gate: &gate, x: [1, 0, -3], N: 3)
        #expect(abs(y[0] - 0.841_192_0) < 1e-6)
        #expect(y[1] == 0)
        #expect(abs(y[2] - (-0.003_637_392)) < 1e-6)
    }

    @Test func crossEntropyWithMaskMatchesFiniteDifferences() {
        var r = TestRandom(seed: 4)
        let N = 6, V = 5
        var logits = r.normals(N * V, scale: 2)
        let targets: [Int32] = [0, 4, 2, 1, 3, 9]  // last target out of range but masked out
        let mask: [Float] = [1, 0, 1, 0.5, 1, 0]
        func loss(_ z: [Float]) -> Double {
            var p = [Float](repeating: 0, count: N * V), l = [Float](repeating: 0, count: N)
            return Double(CrossEntropy.forward(probs: &p, losses: &l, logits: z, targets: targets, mask: mask, N: N, V: V))
        }
        var probs = [Float](repeating: 0, count: N * V), losses = [Float](repeating: 0, count: N)
        let value = CrossEntropy.forward(probs: &probs, losses: &losses, logits: logits, targets: targets, mask: mask, N: N, V: V)
        let expected = (losses[0] + losses[2] + 0.5 * losses[3] + losses[4]) / 3.5
        #expect(abs(value - expected) < 1e-6)
        var dlogits = [Float](repeating: 0, count: N * V)
        CrossEntropy.backward(dlogits: &dlogits, probs: probs, targets: targets, mask: mask, dloss: 1, N: N, V: V)
        #expect(dlogits[V..<(2 * V)].allSatisfy { $0 == 0 }, "masked-out rows get no gradient")
        let failures = GradCheck.check("logits", input: &logits, analytic: dlogits, epsilon: 1e-2, absolute: 1e-4, scalar: loss)
        #expect(failures.isEmpty, "CrossEntropy: \(failures)")
    }

    @Test func embeddingBackwardMatchesFiniteDifferences() {
        var r = TestRandom(seed: 5)
        let B = 2, T = 3, C = 4, V = 5, maxT = 4
        var wte = r.normals(V * C), wpe = r.normals(maxT * C)
        let tokens: [Int32] = [1, 3, 1, 0, 4, 1]
        let dy = r.normals(B * T * C)
        func run(_ wte: [Float], _ wpe: [Float]) -> [Float] {
            var y = [Float](repeating: 0, count: B * T * C)
            Embedding.forward(out: &y, tokens: tokens, wte: wte, wpe: wpe, B: B, T: T, C: C, V: V)
            return y
        }
        var dwte = [Float](repeating: 0, count: V * C), dwpe = [Float](repeating: 0, count: maxT * C)
        Embedding.backward(dwte: &dwte, dwpe: &dwpe, dout: dy, tokens: tokens, B: B, T: T, C: C)
        var failures = GradCheck.check("wte", input: &wte, analytic: dwte) { GradCheck.dot(run($0, wpe), dy) }
        failures += GradCheck.check("wpe", input: &wpe, analytic: dwpe) { GradCheck.dot(run(wte, $0), dy) }
        #expect(failures.isEmpty, "Embedding: \(failures)")
    }

    /// T ≥ `Attention.causalSplitRows` runs the causal products as two sgemms each.
    @Test(arguments: [(0, 4), (3, 4), (0, 33), (2, 34)])
    func attentionBackwardMatchesFiniteDifferences(prefixLength P: Int, length T: Int) {
        var r = TestRandom(seed: 6 + UInt64(P) + UInt64(T))
        let B = T > 8 ? 1 : 2, NH = 2, C = 6, HS = C / NH
        var q = r.normals(B * T * C), k = r.normals(B * T * C), v = r.normals(B * T * C)
        var pk = r.normals(max(NH * P * HS, 1)), pv = r.normals(max(NH * P * HS, 1))
        let dy = r.normals(B * T * C)
        func run(_ q: [Float], _ k: [Float], _ v: [Float], _ pk: [Float], _ pv: [Float]) -> [Float] {
            AttentionProblem(q: q, k: k, v: v, prefixK: pk, prefixV: pv, B: B, T: T, C: C, NH: NH, P: P).forward().out
        }
        let problem = AttentionProblem(q: q, k: k, v: v, prefixK: pk, prefixV: pv, B: B, T: T, C: C, NH: NH, P: P)
        var dq = [Float](repeating: 0, count: B * T * C), dk = dq, dv = dq
        var dpk = [Float](repeating: 0, count: pk.count), dpv = dpk
        problem.backward(att: problem.forward().att, dout: dy, dq: &dq, dk: &dk, dv: &dv, dprefixK: &dpk, dprefixV: &dpv,
                         prefixGradients: true)
        var failures = GradCheck.check("q", input: &q, analytic: dq) { GradCheck.dot(run($0, k, v, pk, pv), dy) }
        failures += GradCheck.check("k", input: &k, analytic: dk) { GradCheck.dot(run(q, $0, v, pk, pv), dy) }
        failures += GradCheck.check("v", input: &v, analytic: dv) { GradCheck.dot(run(q, k, $0, pk, pv), dy) }
        if P > 0 {
            failures += GradCheck.check("prefixK", input: &pk, analytic: dpk) { GradCheck.dot(run(q, k, v, $0, pv), dy) }
            failures += GradCheck.check("prefixV", input: &pv, analytic: dpv) { GradCheck.dot(run(q, k, v, pk, $0), dy) }
        }
        #expect(failures.isEmpty, "Attention P=\(P) T=\(T): \(failures)")
    }

    @Test func attentionIsCausal() {
        // Changing the last position's key and value must not change earlier outputs.
        var r = TestRandom(seed: 9)
        let B = 1, T = 4, NH = 2, C = 4
        let q = r.normals(T * C), k = r.normals(T * C), v = r.normals(T * C)
        var k2 = k, v2 = v
        for c in 0..<C { k2[(T - 1) * C + c] += 1; v2[(T - 1) * C + c] -= 2 }
        var y1 = [Float](repeating: 0, count: T * C), y2 = y1, att = [Float](repeating: 0, count: NH * T * T)
        Attention.forward(out: &y1, att: &att, q: q, k: k, v: v, prefixK: nil, prefixV: nil, B: B, T: T, C: C, NH: NH, P: 0)
        Attention.forward(out: &y2, att: &att, q: q, k: k2, v: v2, prefixK: nil, prefixV: nil, B: B, T: T, C: C, NH: NH, P: 0)
        #expect(Array(y1[0..<((T - 1) * C)]) == Array(y2[0..<((T - 1) * C)]))
        #expect(y1[(T - 1) * C] != y2[(T - 1) * C])
    }
}
