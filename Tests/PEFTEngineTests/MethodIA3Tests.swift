import Foundation
import Testing
@testable import PEFTEngine

/// (IA)³: learned scaling vectors on k, v (outputs) and proj (inputs), initialised to ones.
@Suite struct MethodIA3Tests {
    static let config = TinyModel.config
    /// Forward/merge agreement in Float32 over a two-layer model.
    static let foldTolerance: Float = 1e-5
    /// Hand-computed values are small integers and halves: exact up to rounding.
    static let exactTolerance: Float = 1e-6

    static func attached(_ configuration: IA3.Configuration = .init()) throws -> (TransformerModel, IA3) {
        let model = TinyModel.make(seed: 3)
        let method = IA3(configuration)
        var rng = SeededRNG(seed: 1)
        try method.attach(to: model, rng: &rng)
        return (model, method)
    }

    /// Fills every vector with values in [0.5, 1.5), as if trained.
    static func randomizeVectors(_ method: IA3, seed: UInt64 = 9) {
        var r = TestRandom(seed: seed)
        let p = method.parameters
        let values = r.normals(p.count, scale: 0.25)
        for i in 0..<p.count { p.values.pointer[i] = 1 + max(-0.5, min(0.5, values[i])) }
    }

    static func logits(_ model: TransformerModel, _ method: IA3?) -> [Float] {
        method?.prepareForward(model: model)
        model.forward(tokens: TinyModel.batch().tokens, B: TinyModel.B, T: TinyModel.T)
        return model.logits().storage
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test func freshVectorsAreOnesWithPeftNamesAndTheModelIsUnchanged() throws {
        let (model, method) = try Self.attached()
        let C = Self.config.dModel, F = Self.config.dFF
        #expect(method.parameters.names == [
            "blocks.0.attn.k.ia3_l", "blocks.0.attn.v.ia3_l", "blocks.0.mlp.proj.ia3_l",
            "blocks.1.attn.k.ia3_l", "blocks.1.attn.v.ia3_l", "blocks.1.mlp.proj.ia3_l",
        ])
        #expect(method.parameters.tensor(named: "blocks.1.attn.v.ia3_l").shape == [C])
        #expect(method.parameters.tensor(named: "blocks.0.mlp.proj.ia3_l").shape == [F])
        #expect(method.parameters.values.copy(0..<method.parameters.count).allSatisfy { $0 == 1 })
        #expect(method.expectedTrainableParameterCount(config: Self.config) == 2 * (2 * C + F))
        #expect(model.parameters.trainableCount == 0)
        let base = Self.logits(TinyModel.make(seed: 3), nil)
        #expect(Self.maxDifference(base, Self.logits(model, method)) == 0)
    }

    @Test func foldingTheVectorsIntoTheWeightsMatchesTheHookedForward() throws {
        let (model, method) = try Self.attached()
        Self.randomizeVectors(method)
        let hooked = Self.logits(model, method)

        // Fold by hand into a fresh copy of the base: W_k' = diag(l_k)·W_k, b_k' = l_k ⊙ b_k,
        // W_proj' = W_proj·diag(l_ff); then run it without any hook.
        let folded = TinyModel.make(seed: 3)
        for l in 0..<Self.config.layers {
            for kind in [LinearSite.Kind.k, .v, .proj] {
                let site = LinearSite(layer: l, kind: kind)
                let vector = method.parameters.tensor(named: site.name + ".ia3_l").storage
                var w = folded.parameters.tensor(named: site.weightName), b = folded.parameters.tensor(named: site.biasName)
                let (input, output) = site.features(Self.config)
                for o in 0..<output {
                    for i in 0..<input { w.storage[o * input + i] *= kind == .proj ? vector[i] : vector[o] }
                    if kind != .proj { b.storage[o] *= vector[o] }
                }
                try folded.parameters.load(named: site.weightName, from: w)
                try folded.parameters.load(named: site.biasName, from: b)
                // delta is exactly W' − W.
                let expected = w - model.parameters.tensor(named: site.weightName)
                let delta = try #require(method.delta(for: site, model: model))
                #expect(Self.maxDifference(delta.storage, expected.storage) <= Self.exactTolerance, "\(site)")
            }
        }
        #expect(Self.maxDifference(hooked, Self.logits(folded, nil)) <= Self.foldTolerance)
        #expect(method.delta(for: LinearSite(layer: 0, kind: .q), model: model) == nil)

        // merge does the same folding; unmerge restores the weights bit-exactly.
        let before = model.parameters.values.copy(0..<model.parameters.count)
        try method.merge(into: model)
        #expect(model.linearHook == nil)
        #expect(Self.maxDifference(hooked, Self.logits(model, method)) <= Self.foldTolerance)
        #expect(throws: PEFTMethodError.self) { try method.merge(into: model) }
        try method.unmerge(from: model)
        #expect(model.parameters.values.copy(0..<model.parameters.count) == before)
        #expect(Self.maxDifference(hooked, Self.logits(model, method)) == 0)
    }

    @Test func outputScalingGradientOnASingleSiteByHand() throws {
        let (_, method) = try Self.attached(.init(targetModules: ["k"], feedforwardModules: []))
        let site = LinearSite(layer: 0, kind: .k), C = Self.config.dModel
        // l = [2, 2, 2, 2, ½, ½, ½, ½]; one row y = [1, 2, …, 8]; dy = [1, −1, 1, −1, …].
        let l = method.parameters.value(method.parameters.index(of: "blocks.0.attn.k.ia3_l")!)
        for c in 0..<C { l[c] = c < 4 ? 2 : 0.5 }
        var y: [Float] = (1...C).map(Float.init)
        let dy: [Float] = (0..<C).map { $0 % 2 == 0 ? 1 : -1 }
        let x = [Float](repeating: 0, count: C)
        var dx = [Float](repeating: 0, count: C)
        y.withUnsafeMutableBufferPointer { method.forward(site: site, x: x, y: $0.baseAddress!, rows: 1) }
        #expect(y == [2, 4, 6, 8, 2.5, 3, 3.5, 4])
        let dyBase = try #require(dx.withUnsafeMutableBufferPointer {
            method.backward(site: site, x: x, y: y, dy: dy, dx: $0.baseAddress!, rows: 1)
        })
        // dy_base = l ⊙ dy; dl = dy ⊙ y_unscaled = [1, −2, 3, −4, 5, −6, 7, −8].
        #expect(Array(UnsafeBufferPointer(start: dyBase, count: C)) == [2, -2, 2, -2, 0.5, -0.5, 0.5, -0.5])
        #expect(method.parameters.gradientTensor(named: "blocks.0.attn.k.ia3_l").storage == [1, -2, 3, -4, 5, -6, 7, -8])
        #expect(dx == x, "output scaling leaves dx to the base backward")
    }

    @Test func inputScalingGradientOnASingleSiteByHand() throws {
        let (model, method) = try Self.attached(.init(targetModules: ["proj"], feedforwardModules: ["proj"]))
        let site = LinearSite(layer: 0, kind: .proj), C = Self.config.dModel, F = Self.config.dFF
        // W [C, F]: row 0 all ones, row 1 = [0, 1, …, F−1], other rows zero.
        var w = Tensor(shape: [C, F])
        for j in 0..<F { w.storage[j] = 1; w.storage[F + j] = Float(j) }
        try model.parameters.load(named: site.weightName, from: w)
        let l = method.parameters.value(method.parameters.index(of: "blocks.0.mlp.proj.ia3_l")!)
        for j in 0..<F { l[j] = 0.5 }
        method.prepareForward(model: model)
        #expect(method.handlesInputGradient(for: site))
        #expect(!method.handlesInputGradient(for: LinearSite(layer: 0, kind: .k)))
        // The effective weight is W·diag(l) = W / 2.
        let weff = try #require(method.effectiveWeight(for: site))
        #expect(Array(UnsafeBufferPointer(start: weff, count: C * F)) == w.storage.map { $0 / 2 })

        // One row: x = 1 everywhere, dy = [2, 1, 0, …]. g = dy·W has g_j = 2 + j, so
        // dl_j = x_j·g_j = 2 + j and dx_j = l_j·g_j = 1 + j/2 (added to dx's previous 1).
        let x = [Float](repeating: 1, count: F), y = [Float](repeating: 0, count: C)
        var dy = [Float](repeating: 0, count: C)
        dy[0] = 2; dy[1] = 1
        var dx = [Float](repeating: 1, count: F)
        let returned = dx.withUnsafeMutableBufferPointer {
            method.backward(site: site, x: x, y: y, dy: dy, dx: $0.baseAddress!, rows: 1)
        }
        #expect(returned == nil)
        #expect(dx == (0..<F).map { 2 + Float($0) / 2 })
        #expect(method.parameters.gradientTensor(named: "blocks.0.mlp.proj.ia3_l").storage == (0..<F).map { 2 + Float($0) })
    }

    /// Seam: when a hook computes dx itself (`handlesInputGradient`), every base gradient is
    /// the one the base path gives with the folded weight W·diag(l) and no hook.
    @Test func hookHandledInputGradientEqualsTheBasePath() throws {
        let (model, method) = try Self.attached(.init(targetModules: ["proj"], feedforwardModules: ["proj"]))
        Self.randomizeVectors(method)
        try method.merge(into: model)
        let folded = TinyModel.make(seed: 3)
        try folded.parameters.load(named: "blocks.0.mlp.proj.weight", from: model.parameters.tensor(named: "blocks.0.mlp.proj.weight"))
        try folded.parameters.load(named: "blocks.1.mlp.proj.weight", from: model.parameters.tensor(named: "blocks.1.mlp.proj.weight"))
        try method.unmerge(from: model)
        model.parameters.setRequiresGradForAll(true)

        let (tokens, targets, mask) = TinyModel.batch()
        var gradients: [[Float]] = []
        for (m, hook) in [(model, method as IA3?), (folded, nil)] {
            hook?.prepareForward(model: m)
            m.parameters.zeroGradients()
            m.forward(tokens: tokens, targets: targets, mask: mask, B: TinyModel.B, T: TinyModel.T)
            m.backward()
            gradients.append(m.parameters.gradients.copy(0..<m.parameters.count))
        }
        #expect(Self.maxDifference(gradients[0], gradients[1]) <= Self.foldTolerance)
    }

    @Test func configurationUsesPeftFieldNamesAndDefaults() throws {
        let json = #"{"target_modules": ["q", "v", "fc"], "feedforward_modules": ["fc"]}"#
        let decoded = try JSONDecoder().decode(IA3.Configuration.self, from: Data(json.utf8))
        #expect(decoded == IA3.Configuration(targetModules: ["q", "v", "fc"], feedforwardModules: ["fc"]))
        #expect(try JSONDecoder().decode(IA3.Configuration.self, from: Data("{}".utf8)) == IA3.Configuration())
        #expect(IA3.Configuration.fieldNames == ["target_modules", "feedforward_modules"])
        // fc scaled on its input: C per layer, q and v on their outputs: C each.
        #expect(IA3(decoded).expectedTrainableParameterCount(config: Self.config) == 2 * 3 * Self.config.dModel)
        let reference = ModelConfig.reference
        #expect(IA3().expectedTrainableParameterCount(config: reference) == 4 * (2 * 128 + 512))
    }

    @Test(arguments: [
        (IA3.Configuration(targetModules: ["k", "c_attn"]), "target_modules"),
        (IA3.Configuration(targetModules: [], feedforwardModules: []), "target_modules"),
        (IA3.Configuration(targetModules: ["k", "k"], feedforwardModules: []), "target_modules"),
        (IA3.Configuration(targetModules: ["k", "v"], feedforwardModules: ["proj"]), "feedforward_modules"),
    ])
    func validationNamesTheKey(_ configuration: IA3.Configuration, _ key: String) throws {
        do {
            try configuration.validate(for: Self.config)
            Issue.record("\(configuration) was accepted")
        } catch let PEFTMethodError.invalidConfiguration(method, k, _) {
            #expect(method == "ia3")
            #expect(k == key)
        }
        // attach refuses before touching the model.
        let model = TinyModel.make()
        var rng = SeededRNG(seed: 1)
        #expect(throws: PEFTMethodError.self) { try IA3(configuration).attach(to: model, rng: &rng) }
        #expect(model.linearHook == nil && model.parameters.trainableCount == model.parameters.count)
    }
}
