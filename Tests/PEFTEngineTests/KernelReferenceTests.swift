import Testing
@testable import PEFTEngine

/// The BLAS-backed kernels agree with their plain-loop references on odd shapes.
@Suite struct KernelReferenceTests {
    /// Float32 sums in different orders: a few ulps per term.
    static let tolerance: Float = 1e-5

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test(arguments: [(1, 1, 1), (3, 5, 2), (7, 3, 9), (17, 33, 65)])
    func linearMatchesReference(shape: (Int, Int, Int)) {
        let (M, IC, OC) = shape
        var r = TestRandom(seed: UInt64(M * 1000 + IC * 10 + OC))
        let x = r.normals(M * IC), w = r.normals(OC * IC), b = r.normals(OC), dy = r.normals(M * OC)
        var fast = [Float](repeating: 0, count: M * OC), slow = fast
        Linear.forward(out: &fast, x: x, weight: w, bias: b, M: M, IC: IC, OC: OC)
        Linear.forwardReference(out: &slow, x: x, weight: w, bias: b, M: M, IC: IC, OC: OC)
        #expect(Self.maxDifference(fast, slow) < Self.tolerance, "forward \(shape)")
        var noBiasFast = fast, noBiasSlow = slow
        Linear.forward(out: &noBiasFast, x: x, weight: w, bias: nil, M: M, IC: IC, OC: OC)
        Linear.forwardReference(out: &noBiasSlow, x: x, weight: w, bias: nil, M: M, IC: IC, OC: OC)
        #expect(Self.maxDifference(noBiasFast, noBiasSlow) < Self.tolerance, "forward without bias \(shape)")

        // Backward accumulates: start both from the same non-zero gradients.
        let dx0 = r.normals(M * IC), dw0 = r.normals(OC * IC), db0 = r.normals(OC)
        var dxF = dx0, dwF = dw0, dbF = db0, dxS = dx0, dwS = dw0, dbS = db0
        Linear.backward(dx: &dxF, dweight: &dwF, dbias: &dbF, dout: dy, x: x, weight: w, M: M, IC: IC, OC: OC)
        Linear.backwardReference(dx: &dxS, dweight: &dwS, dbias: &dbS, dout: dy, x: x, weight: w, M: M, IC: IC, OC: OC)
        #expect(Self.maxDifference(dxF, dxS) < Self.tolerance * Float(OC), "dx \(shape)")
        #expect(Self.maxDifference(dwF, dwS) < Self.tolerance * Float(M), "dW \(shape)")
        #expect(Self.maxDifference(dbF, dbS) < Self.tolerance * Float(M), "db \(shape)")
    }

    @Test(arguments: [(1, 1, 2, 1, 0), (2, 5, 6, 3, 0), (3, 7, 8, 2, 2), (1, 1, 4, 4, 5), (2, 33, 8, 2, 0), (1, 64, 8, 2, 3)])
    func attentionMatchesReference(shape: (Int, Int, Int, Int, Int)) {
        let (B, T, C, NH, P) = shape
        let HS = C / NH, S = P + T
        var r = TestRandom(seed: UInt64(B * 10_000 + T * 100 + C * 10 + P))
        let q = r.normals(B * T * C), k = r.normals(B * T * C), v = r.normals(B * T * C)
        let pk = r.normals(max(NH * P * HS, 1)), pv = r.normals(max(NH * P * HS, 1))
        var yF = [Float](repeating: 0, count: B * T * C), yS = yF
        var attF = [Float](repeating: 0, count: B * NH * T * S), attS = attF
        pk.withUnsafeBufferPointer { pkp in
            pv.withUnsafeBufferPointer { pvp in
                let a = P > 0 ? pkp.baseAddress : nil, b = P > 0 ? pvp.baseAddress : nil
                Attention.forward(out: &yF, att: &attF, q: q, k: k, v: v, prefixK: a, prefixV: b, B: B, T: T, C: C, NH: NH, P: P)
                Attention.forwardReference(out: &yS, att: &attS, q: q, k: k, v: v, prefixK: a, prefixV: b, B: B, T: T, C: C, NH: NH, P: P)
            }
        }
        #expect(Self.maxDifference(yF, yS) < Self.tolerance, "output \(shape)")
        #expect(Self.maxDifference(attF, attS) < Self.tolerance, "probabilities \(shape)")
    }
}
