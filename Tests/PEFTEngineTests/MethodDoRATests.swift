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
        let w = try #require(dora.effectiveWeight(for: TwoByThreeModel.fc))
        for i in 0..<6 { #expect(abs(w[i] - expected[i]) <= LoRATolerance.handComputed, "W'[\(i)] = \(w[i])") }
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
        // One row x = (1, 1, 1), dy = (1, 1): dW' = dyᵀ·x = all ones.
        let x: [Float] = [1, 1, 1], dy: [Float] = [1, 1], y: [Float] = [0, 0]
        var dx: [Float] = [0, 0, 0]
        x.withUnsafeBufferPointer { xp in dy.withUnsafeBufferPointer { dyp in y.withUnsafeBufferPointer { yp in
            dx.withUnsafeMutableBufferPointer {
                #expect(dora.backward(site: TwoByThreeModel.fc, x: xp.baseAddress!, y: yp.baseAddress!, dy: dyp.baseAddress!, dx: $0.baseAddress!, rows: 1) == nil)
            }
        } } }
        // V = [[1, 0, 2], [0, 2, 0]]: dm = ((1 + 2)/√5, 2/2).
        let dm = dora.parameters.gradientTensor(named: "blocks.0.mlp.fc.lora_magnitude_vector").storage
        #expect(abs(dm[0] - 3 / Float(5).squareRoot()) <= LoRATolerance.handComputed)
        #expect(abs(dm[1] - 1) <= LoRATolerance.handComputed)
        // dV = diag(m/c)·dW' with m = ‖W0‖ = (1, 2), c = (√5, 2); dA = s·Bᵀ·dV = 2·(1/√5)·(1, 1, 1).
        let dA = dora.parameters.gradientTensor(named: "blocks.0.mlp.fc.lora_A").storage
        #expect(dA.allSatisfy { abs($0 - 2 / Float(5).squareRoot()) <= LoRATolerance.handComputed }, "dA = \(dA)")
    }

    @Test("the count is Σ r·(in + out) + out; lora_dropout must be 0")
    func countAndValidation() throws {
        let dora = try Self.attach(.init(r: 2, targetModules: ["fc"]), to: TinyModel.make())
        #expect(dora.parameters.count == 2 * (2 * (8 + 16) + 16))
        #expect(dora.expectedTrainableParameterCount(config: TinyModel.config) == dora.parameters.count)
        #expect(throws: PEFTMethodError.invalidConfiguration(method: "dora", key: "lora_dropout",
                reason: "must be 0 for DoRA here (weight substitution has no form for a dropped input), got 0.1")) {
            try DoRA.Configuration(.init(loraDropout: 0.1)).validate(for: TinyModel.config)
        }
        #expect(throws: PEFTMethodError.self) { try DoRA.Configuration(.init(r: 0)).validate(for: TinyModel.config) }
    }
}
