import Testing
@testable import PEFTEngine

@Suite("DoRA")
struct MethodDoRATests {
    static func attach(_ h: LoRAHyperparameters, to model: TransformerModel) throws -> DoRA {
        let dora = DoRA(.init(h))
        var rng = SeededRNG(seed: 42)
        try dora.attach(to: model, rng: &rng)
        return dora
    }

    /// ‖W_o,:‖₂ for every output row o of a [out, in] tensor, in Double.
    static func rowNorms(_ w: Tensor) -> [Float] {
        (0..<w.shape[0]).map { o in
            Float((0..<w.shape[1]).reduce(0.0) { $0 + Double(w[o, $1]) * Double(w[o, $1]) }.squareRoot())
        }
    }

    @Test("m starts at the per-output-row norms of W0, and a fresh DoRA substitutes W0 itself")
    func freshIdentity() throws {
        let model = TinyModel.make()
        let dora = try Self.attach(.init(r: 2, loraAlpha: 4), to: model)
        for site in LinearSite.all(layers: 2) {
            let w0 = model.parameters.tensor(named: site.weightName)
            let m = try #require(dora.magnitude(for: site))
            #expect(m.shape == [w0.shape[0]], "\(site): one magnitude per output feature")
            #expect(zip(m.storage, Self.rowNorms(w0)).allSatisfy { abs($0 - $1) <= LoRATolerance.handComputed })
            dora.prepareForward(model: model)
            let w = try #require(dora.effectiveWeight(for: site))
            for i in 0..<w0.count { #expect(abs(w[i] - w0.storage[i]) <= LoRATolerance.handComputed) }
            let delta = try #require(dora.delta(for: site, model: model))
            #expect(delta.storage.allSatisfy { abs($0) <= LoRATolerance.handComputed })
        }
    }

    @Test("W' = m ⊙ (W0 + s·B·A) / ‖W0 + s·B·A‖ per output row, on the 2×3 weight")
    func handComputedWeight() throws {
        let model = TwoByThreeModel.make()
        try model.parameters.load(named: "blocks.0.mlp.fc.weight", from: Tensor(shape: [2, 3], storage: [1, 0, 0, 0, 2, 0]))
        let dora = try Self.attach(.init(r: 1, loraAlpha: 2, targetModules: ["fc"]), to: model)  // s = 2
        #expect(try #require(dora.magnitude(for: TwoByThreeModel.fc)).storage == [1, 2])
        try dora.parameters.load(named: "blocks.0.mlp.fc.lora_A", from: Tensor(shape: [1, 3], storage: [0, 0, 1]))
        try dora.parameters.load(named: "blocks.0.mlp.fc.lora_B", from: Tensor(shape: [2, 1], storage: [1, 0]))
        try dora.parameters.load(named: "blocks.0.mlp.fc.lora_magnitude_vector", from: Tensor(shape: [2], storage: [10, 3]))
        // V = [[1, 0, 2], [0, 2, 0]], ‖V‖ rows = (√5, 2); W' = [[10/√5, 0, 20/√5], [0, 3, 0]].
        let r5 = Float(5).squareRoot()
        let expected: [Float] = [10 / r5, 0, 20 / r5, 0, 3, 0]
        dora.prepareForward(model: model)
        // The base linear multiplies by V with a zero bias; the hook scales by m/‖V‖ and adds b.
        let v = try #require(dora.effectiveWeight(for: TwoByThreeModel.fc))
        #expect((0..<6).map { v[$0] } == [1, 0, 2, 0, 2, 0], "V = W0 + s·B·A")
        let zero = try #require(dora.effectiveBias(for: TwoByThreeModel.fc))
        #expect(zero[0] == 0 && zero[1] == 0)
        let b = model.parameters.tensor(named: "blocks.0.mlp.fc.bias").storage
        var y: [Float] = [3, 2]  // z = x·Vᵀ for x = (1, 1, 1)
        let x: [Float] = [1, 1, 1]
        y.withUnsafeMutableBufferPointer { yp in
            x.withUnsafeBufferPointer { dora.forward(site: TwoByThreeModel.fc, x: $0.baseAddress!, y: yp.baseAddress!, rows: 1) }
        }
        for o in 0..<2 {
            let wx = expected[3 * o] + expected[3 * o + 1] + expected[3 * o + 2]
            #expect(abs(y[o] - (wx + b[o])) <= LoRATolerance.handComputed, "y[\(o)] = \(y[o]), W'·x + b = \(wx + b[o])")
        }
        let delta = try #require(dora.delta(for: TwoByThreeModel.fc, model: model))
        let w0: [Float] = [1, 0, 0, 0, 2, 0]
        for i in 0..<6 { #expect(abs(delta.storage[i] - (expected[i] - w0[i])) <= LoRATolerance.handComputed) }
        try dora.merge(into: model)
        let merged = model.parameters.tensor(named: "blocks.0.mlp.fc.weight").storage
        for i in 0..<6 { #expect(abs(merged[i] - expected[i]) <= LoRATolerance.handComputed) }
        try dora.unmerge(from: model)
        #expect(model.parameters.tensor(named: "blocks.0.mlp.fc.weight").storage == w0, "unmerge restores the saved W0 exactly")
    }

    @Test("the magnitude gradient is Σ_i dW'_oi·V_oi / ‖V_o‖ with the norm detached (peft)")
    func magnitudeGradient() throws {
        let model = TwoByThreeModel.make()
        try model.parameters.load(named: "blocks.0.mlp.fc.weight", from: Tensor(shape: [2, 3], storage: [1, 0, 0, 0, 2, 0]))
        let dora = try Self.attach(.init(r: 1, loraAlpha: 2, targetModules: ["fc"]), to: model)
        try dora.parameters.load(named: "blocks.0.mlp.fc.lora_A", from: Tensor(shape: [1, 3], storage: [0, 0, 1]))
        try dora.parameters.load(named: "blocks.0.mlp.fc.lora_B", from: Tensor(shape: [2, 1], storage: [1, 0]))
        dora.prepareForward(model: model)
        // One row x = (1, 1, 1), dy = (1, 1): dW' = dyᵀ·x = all ones. Forward first: the hook
        // caches z = x·Vᵀ = (3, 2), which backward's dm uses.
        let x: [Float] = [1, 1, 1], dy: [Float] = [1, 1]
        var y: [Float] = [3, 2]
        y.withUnsafeMutableBufferPointer { yp in
            x.withUnsafeBufferPointer { dora.forward(site: TwoByThreeModel.fc, x: $0.baseAddress!, y: yp.baseAddress!, rows: 1) }
        }
        var dyBase: [Float] = []
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { dyp in y.withUnsafeBufferPointer { yp in
            let returned = dora.backward(site: TwoByThreeModel.fc, x: xp.baseAddress!, y: yp.baseAddress!, dy: dyp.baseAddress!, dx: nil, rows: 1)
            dyBase = returned.map { Array(UnsafeBufferPointer(start: $0, count: 2)) } ?? []
        } } }
        // dy_base = dy ⊙ m/c with m = ‖W0‖ = (1, 2), c = ‖V‖ = (√5, 2).
        #expect(dyBase.count == 2 && abs(dyBase[0] - 1 / Float(5).squareRoot()) <= LoRATolerance.handComputed
                && abs(dyBase[1] - 1) <= LoRATolerance.handComputed, "dy_base = \(dyBase)")
        // V = [[1, 0, 2], [0, 2, 0]]: dm = ((1 + 2)/√5, 2/2).
        let dm = dora.parameters.gradientTensor(named: "blocks.0.mlp.fc.lora_magnitude_vector").storage
        #expect(abs(dm[0] - 3 / Float(5).squareRoot()) <= LoRATolerance.handComputed)
        #expect(abs(dm[1] - 1) <= LoRATolerance.handComputed)
        // dV = diag(m/c)·dW' with m = ‖W0‖ = (1, 2), c = (√5, 2); dA = s·Bᵀ·dV = 2·(1/√5)·(1, 1, 1).
        let dA = dora.parameters.gradientTensor(named: "blocks.0.mlp.fc.lora_A").storage
        #expect(dA.allSatisfy { abs($0 - 2 / Float(5).squareRoot()) <= LoRATolerance.handComputed }, "dA = \(dA)")
    }

    /// The stored bias is added after DoRA's scaling, so its gradient is Σ dy, not the base's
    /// Σ dy ⊙ m/‖V‖; and the stored weight's is dy_baseᵀ·x. Checked with m/‖V‖ far from 1.
    @Test("a base bias or weight made trainable after attach gets its true gradient")
    func unfrozenBaseTensors() throws {
        let model = TinyModel.make()
        let dora = try Self.attach(.init(r: 2, loraAlpha: 4), to: model)
        for view in dora.parameters.views.indices where dora.parameters.views[view].name.hasSuffix("magnitude_vector") {
            let m = dora.parameters.value(view)
            for o in 0..<dora.parameters.views[view].count { m[o] *= 2.5 }
        }
        let names = ["blocks.1.mlp.fc.bias", "blocks.0.attn.q.bias", "blocks.1.attn.o.weight"]
        for name in names { model.parameters.setRequiresGrad(true, named: name) }
        dora.holdsNormsConstant = true
        let (tokens, targets, mask) = TinyModel.batch()
        func loss() -> Double {
            dora.prepareForward(model: model)
            return Double(model.forward(tokens: tokens, targets: targets, mask: mask, B: TinyModel.B, T: TinyModel.T))
        }
        model.parameters.zeroGradients()
        dora.parameters.zeroGradients()
        _ = loss()
        model.backward()
        var failures: [GradCheck.Failure] = []
        for name in names {
            let view = model.parameters.view(named: name)
            failures += GradCheck.check(name, value: model.parameters.values.at(view.offset), gradient: model.parameters.gradients.at(view.offset),
                                        indices: [0, view.count / 2, view.count - 1], loss: loss)
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test("the count is Σ r·(in + out) + out; lora_dropout must be 0")
    func countAndValidation() throws {
        let dora = try Self.attach(.init(r: 2, targetModules: ["fc"]), to: TinyModel.make())
        #expect(dora.parameters.count == 2 * (2 * (8 + 16) + 16))
        #expect(dora.expectedTrainableParameterCount(config: TinyModel.config) == dora.parameters.count)
        #expect(throws: PEFTMethodError.invalidConfiguration(method: "dora", key: "lora_dropout",
                reason: "must be 0 for DoRA here (peft applies both DoRA terms to the dropped input, which has no form on one weight V), got 0.1")) {
            try DoRA.Configuration(.init(loraDropout: 0.1)).validate(for: TinyModel.config)
        }
        #expect(throws: PEFTMethodError.self) { try DoRA.Configuration(.init(r: 0)).validate(for: TinyModel.config) }
    }
}
