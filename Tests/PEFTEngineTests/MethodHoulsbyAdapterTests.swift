import Foundation
import Testing
@testable import PEFTEngine

/// Houlsby bottleneck adapters after o and proj: h ← h + W_up·GELU(W_down·h + b_down) + b_up.
@Suite struct MethodHoulsbyAdapterTests {
    static let config = TinyModel.config
    /// Hand formulas evaluated in Double against the Float32 hook.
    static let handTolerance: Double = 1e-5

    static func attached(_ configuration: HoulsbyAdapter.Configuration) throws -> (TransformerModel, HoulsbyAdapter) {
        let model = TinyModel.make(seed: 3)
        let method = HoulsbyAdapter(configuration)
        var rng = SeededRNG(seed: 1)
        try method.attach(to: model, rng: &rng)
        return (model, method)
    }

    /// The tanh-approximate GELU and its derivative, in Double.
    static func gelu(_ z: Double) -> (value: Double, derivative: Double) {
        let k = (2 / Double.pi).squareRoot(), u = k * (z + 0.044715 * z * z * z)
        let t = tanh(u)
        return (0.5 * z * (1 + t), 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * k * (1 + 3 * 0.044715 * z * z))
    }

    @Test func aFreshAdapterIsTheIdentityWithZeroUpProjection() throws {
        let (model, method) = try Self.attached(.init(reductionFactor: 4))
        let C = Self.config.dModel, m = C / 4
        #expect(method.parameters.names.prefix(4) == [
            "blocks.0.attn.o.adapter_down.weight", "blocks.0.attn.o.adapter_down.bias",
            "blocks.0.attn.o.adapter_up.weight", "blocks.0.attn.o.adapter_up.bias",
        ])
        #expect(method.parameters.names.contains("blocks.1.mlp.proj.adapter_up.bias"))
        let down = method.parameters.tensor(named: "blocks.0.mlp.proj.adapter_down.weight")
        #expect(down.shape == [m, C])
        let bound = Tensor.kaimingUniformBound(fanIn: C)
        #expect(down.storage.allSatisfy { abs($0) <= bound } && down.storage.contains { $0 != 0 })
        for name in method.parameters.names where !name.hasSuffix("adapter_down.weight") {
            #expect(method.parameters.tensor(named: name).storage.allSatisfy { $0 == 0 }, "\(name) is not zero")
        }
        // The hook leaves a site's output exactly unchanged.
        var r = TestRandom(seed: 4)
        let original = r.normals(3 * C)
        var y = original
        y.withUnsafeMutableBufferPointer {
            method.forward(site: LinearSite(layer: 1, kind: .o), x: original, y: $0.baseAddress!, rows: 3)
        }
        #expect(y == original)
        #expect(model.parameters.trainableCount == 0)
        #expect(method.delta(for: LinearSite(layer: 0, kind: .o), model: model) == nil)
        #expect(!method.canMerge)
    }

    @Test func forwardAndBackwardOfOneAdapterByHand() throws {
        // adapter_size 1 on one site: z = w_d·h + b_d (a scalar per row), a = gelu(z),
        // y = h + w_u·a + b_u. Backward with dy: dW_up = dy·a, db_up = dy,
        // dz = gelu'(z)·(w_u·dy), dW_down = dz·h, db_down = dz, dy_base = dy + dz·w_d.
        let (_, method) = try Self.attached(.init(adapterSize: 1, targetModules: ["proj"]))
        let site = LinearSite(layer: 0, kind: .proj), C = Self.config.dModel
        let p = method.parameters, prefix = "blocks.0.mlp.proj."
        let wd: [Float] = (0..<C).map { 0.1 * Float($0 + 1) }, bd: Float = -0.3
        let wu: [Float] = (0..<C).map { $0 % 2 == 0 ? 0.5 : -0.25 }, bu: [Float] = (0..<C).map { 0.01 * Float($0) }
        try p.load(named: prefix + "adapter_down.weight", from: Tensor(shape: [1, C], storage: wd))
        try p.load(named: prefix + "adapter_down.bias", from: Tensor(shape: [1], storage: [bd]))
        try p.load(named: prefix + "adapter_up.weight", from: Tensor(shape: [C, 1], storage: wu))
        try p.load(named: prefix + "adapter_up.bias", from: Tensor(shape: [C], storage: bu))

        let h: [Float] = (0..<C).map { Float($0) * 0.2 - 0.5 }
        let dy: [Float] = (0..<C).map { Float(C - $0) * 0.1 }
        var y = h
        y.withUnsafeMutableBufferPointer { method.forward(site: site, x: [Float](repeating: 0, count: 16), y: $0.baseAddress!, rows: 1) }
        let z = zip(wd, h).reduce(Double(bd)) { $0 + Double($1.0) * Double($1.1) }
        let (a, slope) = Self.gelu(z)
        for c in 0..<C {
            #expect(abs(Double(y[c]) - (Double(h[c]) + Double(wu[c]) * a + Double(bu[c]))) <= Self.handTolerance, "y[\(c)]")
        }
        var dx = [Float](repeating: 0, count: 16)
        let dyBase = try #require(dx.withUnsafeMutableBufferPointer {
            method.backward(site: site, x: [Float](repeating: 0, count: 16), y: y, dy: dy, dx: $0.baseAddress!, rows: 1)
        })
        let dz = slope * zip(wu, dy).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        func close(_ name: String, _ got: [Float], _ want: [Double]) {
            let worst = zip(got, want).map { abs(Double($0) - $1) }.max() ?? 0
            #expect(got.count == want.count && worst <= Self.handTolerance, "\(name): off by \(worst)")
        }
        close("dy_base", Array(UnsafeBufferPointer(start: dyBase, count: C)), (0..<C).map { Double(dy[$0]) + dz * Double(wd[$0]) })
        close("dW_up", p.gradientTensor(named: prefix + "adapter_up.weight").storage, dy.map { Double($0) * a })
        close("db_up", p.gradientTensor(named: prefix + "adapter_up.bias").storage, dy.map(Double.init))
        close("dW_down", p.gradientTensor(named: prefix + "adapter_down.weight").storage, h.map { dz * Double($0) })
        close("db_down", p.gradientTensor(named: prefix + "adapter_down.bias").storage, [dz])
        #expect(dx.allSatisfy { $0 == 0 }, "the base backward, not the adapter, fills dx")
    }

    @Test func bottleneckSizeAndParameterCount() throws {
        let C = 128, reference = ModelConfig.reference
        #expect(HoulsbyAdapter.Configuration().bottleneck(dModel: C) == 8)
        #expect(HoulsbyAdapter.Configuration(reductionFactor: 16, adapterSize: 3).bottleneck(dModel: C) == 3)
        // 2 adapters per layer × (2·C·m + m + C) × L = 2 · (2·128·8 + 8 + 128) · 4.
        #expect(HoulsbyAdapter().expectedTrainableParameterCount(config: reference) == 2 * (2 * 128 * 8 + 8 + 128) * 4)
        #expect(HoulsbyAdapter(.init(adapterSize: 2, targetModules: ["o"])).expectedTrainableParameterCount(config: reference)
                == 1 * (2 * 128 * 2 + 2 + 128) * 4)
    }

    @Test func configurationUsesFieldNamesAndDefaults() throws {
        let json = #"{"reduction_factor": 4, "target_modules": ["proj"]}"#
        let decoded = try JSONDecoder().decode(HoulsbyAdapter.Configuration.self, from: Data(json.utf8))
        #expect(decoded == HoulsbyAdapter.Configuration(reductionFactor: 4, targetModules: ["proj"]))
        let sized = try JSONDecoder().decode(HoulsbyAdapter.Configuration.self, from: Data(#"{"adapter_size": 2}"#.utf8))
        #expect(sized == HoulsbyAdapter.Configuration(adapterSize: 2))
        #expect(try JSONDecoder().decode(HoulsbyAdapter.Configuration.self, from: Data("{}".utf8)) == HoulsbyAdapter.Configuration())
        #expect(HoulsbyAdapter.Configuration.fieldNames == ["reduction_factor", "adapter_size", "target_modules"])
        // adapter_size overrides a reduction factor that would not fit the tiny model (8 / 16 < 1).
        try sized.validate(for: Self.config)
    }

    @Test(arguments: [
        (HoulsbyAdapter.Configuration(reductionFactor: 16), "reduction_factor"),  // m = 8/16 < 1
        (HoulsbyAdapter.Configuration(reductionFactor: 3), "reduction_factor"),   // 3 ∤ 8
        (HoulsbyAdapter.Configuration(reductionFactor: 0), "reduction_factor"),
        (HoulsbyAdapter.Configuration(adapterSize: 0), "adapter_size"),
        (HoulsbyAdapter.Configuration(reductionFactor: 4, targetModules: ["q"]), "target_modules"),
        (HoulsbyAdapter.Configuration(reductionFactor: 4, targetModules: []), "target_modules"),
    ])
    func validationNamesTheKey(_ configuration: HoulsbyAdapter.Configuration, _ key: String) throws {
        do {
            try configuration.validate(for: Self.config)
            Issue.record("\(configuration) was accepted")
        } catch let PEFTMethodError.invalidConfiguration(method, k, reason) {
            #expect(method == "adapter")
            #expect(k == key, "\(reason)")
        }
        let model = TinyModel.make()
        var rng = SeededRNG(seed: 1)
        #expect(throws: PEFTMethodError.self) { try HoulsbyAdapter(configuration).attach(to: model, rng: &rng) }
        #expect(model.linearHook == nil && model.parameters.trainableCount == model.parameters.count)
    }
}
