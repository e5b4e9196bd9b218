import Testing
@testable import PEFTEngine

/// Seam (a): a method can substitute the weight of a linear site or add a path to it.
@Suite struct ModelLinearSiteHookTests {
    /// Serves one substituted weight for one site.
    final class SubstituteWeight: LinearSiteHook {
        let site: LinearSite
        let weight: FloatArena
        init(site: LinearSite, weight: [Float]) {
            self.site = site
            self.weight = FloatArena(count: weight.count)
            for (i, w) in weight.enumerated() { self.weight.pointer[i] = w }
        }
        func effectiveWeight(for s: LinearSite) -> UnsafePointer<Float>? {
            s == site ? UnsafePointer(weight.pointer) : nil
        }
        /// No parameters of its own: the base output's gradient is dy.
        func backward(site: LinearSite, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
                      dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int) -> UnsafePointer<Float>? { nil }
    }

    /// A LoRA-shaped extra path at one site: y += (x·Aᵀ)·Bᵀ, A [r, in], B [out, r].
    final class LowRankPath: LinearSiteHook {
        let site: LinearSite, r: Int, input: Int, output: Int
        let A: FloatArena, B: FloatArena, dA: FloatArena, dB: FloatArena
        /// [rows, r] x·Aᵀ of the last forward.
        let hidden: FloatArena, dHidden: FloatArena
        var calls: [LinearSite] = []

        init(site: LinearSite, config: ModelConfig, rank: Int, maxRows: Int, seed: UInt64) {
            self.site = site; r = rank
            (input, output) = site.features(config)
            A = FloatArena(count: rank * input); B = FloatArena(count: output * rank)
            dA = FloatArena(count: rank * input); dB = FloatArena(count: output * rank)
            hidden = FloatArena(count: maxRows * rank); dHidden = FloatArena(count: maxRows * rank)
            var rng = TestRandom(seed: seed)
            for (i, x) in rng.normals(A.count, scale: 0.5).enumerated() { A.pointer[i] = x }
            for (i, x) in rng.normals(B.count, scale: 0.5).enumerated() { B.pointer[i] = x }
        }

        func forward(site s: LinearSite, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int) {
            calls.append(s)
            guard s == site else { return }
            BLAS.sgemm(transA: false, transB: true, m: rows, n: r, k: input, alpha: 1, a: x, lda: input,
                       b: A.pointer, ldb: input, beta: 0, c: hidden.pointer, ldc: r)
            BLAS.sgemm(transA: false, transB: true, m: rows, n: output, k: r, alpha: 1, a: hidden.pointer, lda: r,
                       b: B.pointer, ldb: r, beta: 1, c: y, ldc: output)
        }

        func backward(site s: LinearSite, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
                      dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int) -> UnsafePointer<Float>? {
            guard s == site else { return nil }
            BLAS.sgemm(transA: false, transB: false, m: rows, n: r, k: output, alpha: 1, a: dy, lda: output,
                       b: B.pointer, ldb: r, beta: 0, c: dHidden.pointer, ldc: r)
            BLAS.sgemm(transA: true, transB: false, m: output, n: r, k: rows, alpha: 1, a: dy, lda: output,
                       b: hidden.pointer, ldb: r, beta: 1, c: dB.pointer, ldc: r)
            BLAS.sgemm(transA: true, transB: false, m: r, n: input, k: rows, alpha: 1, a: dHidden.pointer, lda: r,
                       b: x, ldb: input, beta: 1, c: dA.pointer, ldc: input)
            guard let dx else { return nil }
            BLAS.sgemm(transA: false, transB: false, m: rows, n: input, k: r, alpha: 1, a: dHidden.pointer, lda: r,
                       b: A.pointer, ldb: input, beta: 1, c: dx, ldc: input)
            return nil
        }
    }

    @Test func everyLinearSiteGoesThroughTheHookInOrder() {
        let model = TinyModel.make()
        let hook = LowRankPath(site: LinearSite(layer: 0, kind: .q), config: TinyModel.config, rank: 2, maxRows: 10, seed: 1)
        model.linearHook = hook
        let (tokens, _, _) = TinyModel.batch()
        model.forward(tokens: tokens, B: TinyModel.B, T: TinyModel.T)
        #expect(hook.calls == LinearSite.all(layers: TinyModel.config.layers))
    }

    @Test func substitutedWeightActsLikeLoadingIt() throws {
        let (tokens, targets, mask) = TinyModel.batch()
        let site = LinearSite(layer: 1, kind: .fc)
        var r = TestRandom(seed: 5)
        let replacement = r.normals(TinyModel.config.dFF * TinyModel.config.dModel, scale: 0.3)

        let hooked = TinyModel.make()
        hooked.linearHook = SubstituteWeight(site: site, weight: replacement)
        hooked.parameters.zeroGradients()
        let hookedLoss = hooked.forward(tokens: tokens, targets: targets, mask: mask, B: TinyModel.B, T: TinyModel.T)
        hooked.backward()

        let loaded = TinyModel.make()
        try loaded.parameters.load(named: site.weightName, from: Tensor(shape: [16, 8], storage: replacement))
        loaded.parameters.zeroGradients()
        let loadedLoss = loaded.forward(tokens: tokens, targets: targets, mask: mask, B: TinyModel.B, T: TinyModel.T)
        loaded.backward()

        #expect(hookedLoss == loadedLoss)
        #expect(hooked.parameters.gradients.copy(0..<hooked.parameters.count) == loaded.parameters.gradients.copy(0..<loaded.parameters.count))
        #expect(hookedLoss != TinyModel.make().forward(tokens: tokens, targets: targets, mask: mask, B: TinyModel.B, T: TinyModel.T))
    }

    @Test func lowRankPathGradientsMatchFiniteDifferences() {
        let model = TinyModel.make()
        model.parameters.setRequiresGradForAll(false)
        let hook = LowRankPath(site: LinearSite(layer: 0, kind: .v), config: TinyModel.config, rank: 2, maxRows: 10, seed: 3)
        model.linearHook = hook
        let (tokens, targets, mask) = TinyModel.batch()
        let B = TinyModel.B, T = TinyModel.T
        model.forward(tokens: tokens, targets: targets, mask: mask, B: B, T: T)
        model.backward()
        let loss = { model.forward(tokens: tokens, targets: targets, mask: mask, B: B, T: T) }
        var failures = ModelGradCheckTests.check("lora.A", arena: hook.A, gradients: hook.dA, range: 0..<hook.A.count, seed: 1, loss: loss)
        failures += ModelGradCheckTests.check("lora.B", arena: hook.B, gradients: hook.dB, range: 0..<hook.B.count, seed: 2, loss: loss)
        #expect(failures.isEmpty, "low-rank path: \(failures)")
        #expect(model.parameters.gradients.copy(0..<model.parameters.count).allSatisfy { $0 == 0 }, "all base weights frozen")
    }
}
