import Testing
@testable import PEFTEngine

/// The row-parallel kernels give exactly (bit for bit) the values of their serial loops,
/// whatever the number of chunks, on odd shapes. `Parallel.forcedWorkers` forces the chunked
/// path even where the shapes are far below the kernels' grain, without touching the global
/// BLAS thread count that other tests run under.
@Suite struct KernelParallelTests {
    /// Chunk counts tried: serial, the 2-core default, and uneven splits.
    static let workerCounts = [1, 2, 3, 8]

    /// Runs `body` with exactly `workers` chunks per parallel call.
    static func chunked<R>(_ workers: Int, _ body: () -> R) -> R {
        Parallel.$forcedWorkers.withValue(workers) { body() }
    }

    @Test func chunksCoverTheRangeOnceInOrder() {
        for workers in Self.workerCounts {
            for count in [0, 1, 3, 17] {
                var seen = [Int](repeating: 0, count: count)
                var starts = [Int](repeating: -1, count: Parallel.maxWorkers)
                seen.withUnsafeMutableBufferPointer { seen in
                    starts.withUnsafeMutableBufferPointer { starts in
                        Self.chunked(workers) {
                            Parallel.forEachChunk(count) { chunk, range in
                                starts[chunk] = range.lowerBound
                                for i in range { seen[i] += 1 }
                            }
                        }
                    }
                }
                #expect(seen.allSatisfy { $0 == 1 }, "workers \(workers), count \(count): \(seen)")
                let used = starts.filter { $0 >= 0 }
                #expect(used == used.sorted() && used.count == min(workers, count), "workers \(workers), count \(count): chunk starts \(starts)")
            }
        }
    }

    @Test(arguments: [1, 3, 17])
    func layerNormIsBitIdenticalToSerial(rows N: Int) {
        let C = 7
        var r = TestRandom(seed: UInt64(100 + N))
        let x = r.normals(N * C), w = r.normals(C), b = r.normals(C), dy = r.normals(N * C)
        let dx0 = r.normals(N * C), dw0 = r.normals(C), db0 = r.normals(C)
        var out0 = [Float](repeating: 0, count: N * C), mean0 = [Float](repeating: 0, count: N), rstd0 = mean0
        LayerNorm.forwardReference(out: &out0, mean: &mean0, rstd: &rstd0, x: x, weight: w, bias: b, N: N, C: C)
        var dx = dx0, dw = dw0, db = db0
        LayerNorm.backwardReference(dx: &dx, dweight: &dw, dbias: &db, dout: dy, x: x, weight: w, mean: mean0, rstd: rstd0, N: N, C: C)
        for workers in Self.workerCounts {
            var out = [Float](repeating: 0, count: N * C), mean = [Float](repeating: 0, count: N), rstd = mean
            var dxP = dx0, dwP = dw0, dbP = db0
            Self.chunked(workers) {
                LayerNorm.forward(out: &out, mean: &mean, rstd: &rstd, x: x, weight: w, bias: b, N: N, C: C)
                LayerNorm.backward(dx: &dxP, dweight: &dwP, dbias: &dbP, dout: dy, x: x, weight: w, mean: mean, rstd: rstd, N: N, C: C)
            }
            #expect(out == out0 && mean == mean0 && rstd == rstd0, "forward, rows \(N), workers \(workers)")
            #expect(dxP == dx && dwP == dw && dbP == db, "backward, rows \(N), workers \(workers)")
        }
    }

    @Test(arguments: [1, 3, 17, 1_003])
    func geluAndResidualAreBitIdenticalToSerial(count N: Int) {
        var r = TestRandom(seed: UInt64(200 + N))
        let x = r.normals(N, scale: 3), dy = r.normals(N), dx0 = r.normals(N), y = r.normals(N)
        var out0 = [Float](repeating: 0, count: N), gate0 = out0, sum0 = out0, dx = dx0
        GELU.forwardReference(out: &out0, gate: &gate0, x: x, N: N)
        GELU.backwardReference(dx: &dx, dout: dy, x: x, gate: gate0, N: N)
        Residual.forwardReference(out: &sum0, a: x, b: y, N: N)
        for workers in Self.workerCounts {
            var out = [Float](repeating: 0, count: N), gate = out, sum = out, dxP = dx0
            Self.chunked(workers) {
                GELU.forward(out: &out, gate: &gate, x: x, N: N)
                GELU.backward(dx: &dxP, dout: dy, x: x, gate: gate, N: N)
                Residual.forward(out: &sum, a: x, b: y, N: N)
            }
            #expect(out == out0 && gate == gate0, "GELU forward, count \(N), workers \(workers)")
            #expect(dxP == dx, "GELU backward, count \(N), workers \(workers)")
            // Overwrite mode, in place (dx = dout), as the model runs it: dout ⊙ gelu'(x).
            var inPlace = dy, zeroed = [Float](repeating: 0, count: N)
            GELU.backwardReference(dx: &zeroed, dout: dy, x: x, gate: gate0, N: N)
            Self.chunked(workers) {
                inPlace.withUnsafeMutableBufferPointer { d in
                    GELU.backward(dx: d.baseAddress!, dout: d.baseAddress!, x: x, gate: gate0, N: N, accumulate: false)
                }
            }
            #expect(inPlace == zeroed, "GELU backward in place, count \(N), workers \(workers)")
            #expect(sum == sum0, "residual, count \(N), workers \(workers)")
        }
    }

    @Test(arguments: [1, 3, 17])
    func crossEntropyIsBitIdenticalToSerial(rows N: Int) {
        let V = 5
        var r = TestRandom(seed: UInt64(300 + N))
        let logits = r.normals(N * V, scale: 2)
        let targets = (0..<N).map { _ in Int32(r.int(V)) }
        let mask = (0..<N).map { n in n % 3 == 1 ? Float(0) : Float(1 + n % 2) }
        let dz0 = r.normals(N * V)
        var probs0 = [Float](repeating: 0, count: N * V), losses0 = [Float](repeating: 0, count: N), dz = dz0
        let loss0 = CrossEntropy.forwardReference(probs: &probs0, losses: &losses0, logits: logits, targets: targets, mask: mask, N: N, V: V)
        CrossEntropy.backwardReference(dlogits: &dz, probs: probs0, targets: targets, mask: mask, dloss: 0.7, N: N, V: V)
        for workers in Self.workerCounts {
            var probs = [Float](repeating: 0, count: N * V), losses = [Float](repeating: 0, count: N), dzP = dz0
            let loss = Self.chunked(workers) {
                let loss = CrossEntropy.forward(probs: &probs, losses: &losses, logits: logits, targets: targets, mask: mask, N: N, V: V)
                CrossEntropy.backward(dlogits: &dzP, probs: probs, targets: targets, mask: mask, dloss: 0.7, N: N, V: V)
                return loss
            }
            #expect(loss == loss0 && probs == probs0 && losses == losses0, "forward, rows \(N), workers \(workers)")
            #expect(dzP == dz, "backward, rows \(N), workers \(workers)")
        }
    }

    @Test(arguments: [1, 3, 17])
    func linearBiasAndEmbeddingAreBitIdenticalToSerial(rows M: Int) {
        let IC = 3, OC = 5, V = 4
        var r = TestRandom(seed: UInt64(400 + M))
        let x = r.normals(M * IC), w = r.normals(OC * IC), b = r.normals(OC), dy = r.normals(M * OC)
        let tokens = (0..<M).map { _ in Int32(r.int(V)) }
        let wte = r.normals(V * OC), wpe = r.normals(M * OC), dwte0 = r.normals(V * OC), dwpe0 = r.normals(M * OC)
        let db0 = r.normals(OC)
        func run(_ workers: Int) -> [[Float]] {
            var y = [Float](repeating: 0, count: M * OC), db = db0, e = y, dwte = dwte0, dwpe = dwpe0
            Self.chunked(workers) {
                Linear.forward(out: &y, x: x, weight: w, bias: b, M: M, IC: IC, OC: OC)
                Linear.backward(dx: nil, dweight: nil, dbias: &db, dout: dy, x: x, weight: w, M: M, IC: IC, OC: OC)
                Embedding.forward(out: &e, tokens: tokens, wte: wte, wpe: wpe, B: 1, T: M, C: OC, V: V)
                Embedding.backward(dwte: &dwte, dwpe: &dwpe, dout: dy, tokens: tokens, B: 1, T: M, C: OC)
            }
            return [y, db, e, dwte, dwpe]
        }
        let serial = run(1)
        for workers in Self.workerCounts.dropFirst() {
            #expect(run(workers) == serial, "rows \(M), workers \(workers)")
        }
    }

    /// (B, T, C, NH, P): attention splits (b, h) pairs, or heads when prefix gradients are on.
    @Test(arguments: [(1, 1, 2, 1, 0), (3, 5, 6, 3, 0), (1, 17, 8, 2, 0), (3, 7, 8, 2, 2), (2, 3, 12, 3, 4)])
    func attentionIsBitIdenticalAcrossChunkCounts(shape: (Int, Int, Int, Int, Int)) {
        let (B, T, C, NH, P) = shape
        let HS = C / NH
        var r = TestRandom(seed: UInt64(B * 1000 + T * 10 + P))
        let q = r.normals(B * T * C), k = r.normals(B * T * C), v = r.normals(B * T * C), dy = r.normals(B * T * C)
        let pk = r.normals(max(NH * P * HS, 1)), pv = r.normals(max(NH * P * HS, 1))
        let d0 = r.normals(B * T * C), dp0 = r.normals(max(NH * P * HS, 1))
        let problem = AttentionProblem(q: q, k: k, v: v, prefixK: pk, prefixV: pv, B: B, T: T, C: C, NH: NH, P: P)
        func run(_ workers: Int, prefixGradients: Bool) -> [[Float]] {
            var out: [Float] = [], att: [Float] = [], dq = d0, dk = d0, dv = d0, dpk = dp0, dpv = dp0
            Self.chunked(workers) {
                (out, att) = problem.forward()
                problem.backward(att: att, dout: dy, dq: &dq, dk: &dk, dv: &dv, dprefixK: &dpk, dprefixV: &dpv,
                                 prefixGradients: prefixGradients)
            }
            return [out, att, dq, dk, dv, dpk, dpv]
        }
        for prefixGradients in [false, true] {
            let serial = run(1, prefixGradients: prefixGradients)
            for workers in Self.workerCounts.dropFirst() {
                let parallel = run(workers, prefixGradients: prefixGradients)
                let names = ["out", "att", "dq", "dk", "dv", "dprefixK", "dprefixV"]
                for (i, name) in names.enumerated() {
                    #expect(parallel[i] == serial[i], "\(name), shape \(shape), workers \(workers), prefix gradients \(prefixGradients)")
                }
            }
        }
    }

    @Test func adamWAndClippingAreBitIdenticalAcrossChunkCounts() {
        let n = 37
        var r = TestRandom(seed: 500)
        let w0 = r.normals(n), g0 = r.normals(n)
        let segments = [TrainableSegment(range: 0..<20, decays: true), TrainableSegment(range: 23..<37, decays: false)]
        func run(_ workers: Int) -> [[Float]] {
            let values = FloatArena(count: n), gradients = FloatArena(count: n)
            w0.withUnsafeBufferPointer { values.pointer.update(from: $0.baseAddress!, count: n) }
            g0.withUnsafeBufferPointer { gradients.pointer.update(from: $0.baseAddress!, count: n) }
            let adam = AdamW(parameterCount: n)
            Self.chunked(workers) {
                for step in 0..<3 {
                    GradientClipping.clip(gradients, segments: segments, maxNorm: 0.5)
                    adam.update(values: values, gradients: gradients, segments: segments, lr: 0.01 * Float(step + 1))
                }
            }
            return [values.copy(0..<n), gradients.copy(0..<n), adam.m.copy(0..<n), adam.v.copy(0..<n)]
        }
        let serial = run(1)
        for workers in Self.workerCounts.dropFirst() {
            #expect(run(workers) == serial, "workers \(workers)")
        }
    }
}
