import Foundation
import Testing
@testable import PEFTEngine

/// The training engine's LLaMA block: every backward against finite differences (tied and
/// untied head, prefix rows under grouped-query attention). transformers' own answer is in
/// `ModelLlamaFixtureTests`; an HF folder loaded into the engine in WorkbenchTests'
/// `ModelTinyLlamaTests`.
@Suite("LLaMA block")
struct ModelLlamaBlockTests {
    static let B = TinyLlama.B, T = TinyLlama.T

    /// FD-checks sampled entries of every view of `model` after one forward/backward.
    static func checkEveryParameter(_ model: TransformerModel) -> (failures: [GradCheck.Failure], silent: [String]) {
        let (tokens, targets, mask) = TinyModel.batch()
        model.parameters.zeroGradients()
        model.forward(tokens: tokens, targets: targets, mask: mask, B: B, T: T)
        model.backward()
        var failures: [GradCheck.Failure] = [], silent: [String] = []
        for (i, v) in model.parameters.views.enumerated() {
            failures += ModelGradCheckTests.check(v.name, arena: model.parameters.values, gradients: model.parameters.gradients,
                                                  range: v.range, seed: UInt64(i)) {
                model.forward(tokens: tokens, targets: targets, mask: mask, B: B, T: T)
            }
            if !model.parameters.gradients.copy(v.range).contains(where: { $0 != 0 }) { silent.append(v.name) }
        }
        return (failures, silent)
    }

    @Test("every parameter's gradient matches finite differences, with the head tied to wte")
    func tiedGradients() {
        let model = TinyLlama.make()
        #expect(!model.parameters.contains("lm_head.weight") && !model.parameters.contains("wpe"))
        let (failures, silent) = Self.checkEveryParameter(model)
        #expect(failures.isEmpty, "\(failures)")
        #expect(silent.isEmpty, "no gradient reached \(silent)")
    }

    @Test("every parameter's gradient matches finite differences, with an own head")
    func untiedGradients() {
        let model = TinyLlama.make(untied: true)
        #expect(model.parameters.contains("lm_head.weight"))
        let (failures, silent) = Self.checkEveryParameter(model)
        #expect(failures.isEmpty, "\(failures)")
        #expect(silent.isEmpty, "no gradient reached \(silent)")
    }

    @Test("prefix keys and values of the key/value heads match finite differences")
    func prefixGradients() {
        let P = 2
        let model = TinyLlama.make(maxP: P)
        let prefix = PrefixKV(config: TinyLlama.config, length: P)
        #expect(prefix.heads == TinyLlama.config.kvHeads)
        var r = TestRandom(seed: 21)
        let k = r.normals(prefix.keys.count, scale: 0.5), v = r.normals(prefix.values.count, scale: 0.5)
        for i in 0..<k.count { prefix.keys.pointer[i] = k[i]; prefix.values.pointer[i] = v[i] }
        model.prefix = prefix
        model.parameters.setRequiresGradForAll(false)
        model.parameters.setRequiresGrad(true, named: "blocks.0.attn.k.weight")
        let (tokens, targets, mask) = TinyModel.batch()
        model.parameters.zeroGradients()
        model.forward(tokens: tokens, targets: targets, mask: mask, B: Self.B, T: Self.T)
        model.backward()
        let loss = { model.forward(tokens: tokens, targets: targets, mask: mask, B: Self.B, T: Self.T) }
        var failures: [GradCheck.Failure] = []
        for l in 0..<TinyLlama.config.layers {
            let range = (l * prefix.layerStride)..<((l + 1) * prefix.layerStride)
            failures += ModelGradCheckTests.check("prefix.\(l).keys", arena: prefix.keys, gradients: prefix.keyGradients,
                                                  range: range, seed: UInt64(l), loss: loss)
            failures += ModelGradCheckTests.check("prefix.\(l).values", arena: prefix.values, gradients: prefix.valueGradients,
                                                  range: range, seed: UInt64(l + 9), loss: loss)
        }
        let kw = model.parameters.view(named: "blocks.0.attn.k.weight")
        failures += ModelGradCheckTests.check(kw.name, arena: model.parameters.values, gradients: model.parameters.gradients,
                                              range: kw.range, seed: 3, loss: loss)
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test("a prefix longer than the room left in the context: tokens sit at positions P…P + T − 1, the same numbers as under a longer context")
    func prefixBeyondTheContext() {
        let P = 6   // 6 + T (5) = 11 positions > context 9
        var wide = TinyLlama.config
        wide.contextLength = 20
        func loss(_ config: ModelConfig) -> Float {
            let model = TinyModel.randomize(TransformerModel(config: config, maxB: Self.B, maxT: Self.T, maxP: P), seed: 7)
            let prefix = PrefixKV(config: config, length: P)
            var r = TestRandom(seed: 5)
            let k = r.normals(prefix.keys.count, scale: 0.5), v = r.normals(prefix.values.count, scale: 0.5)
            for i in 0..<k.count { prefix.keys.pointer[i] = k[i]; prefix.values.pointer[i] = v[i] }
            model.prefix = prefix
            let (tokens, targets, mask) = TinyModel.batch()
            return model.forward(tokens: tokens, targets: targets, mask: mask, B: Self.B, T: Self.T)
        }
        let narrow = loss(TinyLlama.config)
        #expect(narrow.isFinite && narrow == loss(wide))
    }
}
