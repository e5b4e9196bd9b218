import Foundation
import Testing
@testable import PEFTEngine

/// Configuration validation, the parameter arena's layout, checkpoints and initialisation.
@Suite struct ModelParameterStoreTests {
    @Test func badConfigurationsAreErrorsNotCrashes() throws {
        #expect(throws: ModelConfigError.headsDoNotDivideModel(dModel: 10, heads: 4)) {
            try ModelConfig(vocabSize: 5, dModel: 10, layers: 1, heads: 4, dFF: 8, contextLength: 4)
        }
        #expect(throws: ModelConfigError.notPositive(field: "n_layers", value: 0)) {
            try ModelConfig(vocabSize: 5, dModel: 8, layers: 0, heads: 2, dFF: 8, contextLength: 4)
        }
        let bad = #"{"vocab_size": 96, "d_model": 128, "n_layers": 4, "n_heads": 3, "d_ff": 512, "context_length": 64}"#
        #expect(throws: ModelConfigError.headsDoNotDivideModel(dModel: 128, heads: 3)) {
            try JSONDecoder().decode(ModelConfig.self, from: Data(bad.utf8))
        }
        let good = try JSONEncoder().encode(ModelConfig.reference)
        #expect(try JSONDecoder().decode(ModelConfig.self, from: good) == ModelConfig.reference)
    }

    @Test func layoutIsContiguousInTheDocumentedOrder() {
        let config = TinyModel.config
        let store = ParameterStore(config: config)
        let V = 11, C = 8, F = 16, maxT = 6, L = 2
        let perBlock = 2 * C + 4 * (C * C + C) + 2 * C + (F * C + F) + (C * F + C)
        #expect(store.count == V * C + maxT * C + L * perBlock + 2 * C + V * C)
        var offset = 0
        for v in store.views {
            #expect(v.offset == offset, "\(v.name) not contiguous")
            offset += v.count
        }
        #expect(offset == store.count)
        #expect(Array(store.names.prefix(6)) == ["wte", "wpe", "blocks.0.ln1.weight", "blocks.0.ln1.bias",
                                                 "blocks.0.attn.q.weight", "blocks.0.attn.q.bias"])
        #expect(Array(store.names.suffix(3)) == ["ln_f.weight", "ln_f.bias", "lm_head.weight"])
        #expect(store.view(named: "blocks.1.mlp.fc.weight").shape == [F, C])
        #expect(store.view(named: "blocks.1.mlp.proj.weight").shape == [C, F])
        #expect(store.views.filter(\.decays).map(\.name).count == L * 6 + 1, "only linear weights and lm_head decay")
        for site in LinearSite.all(layers: L) {
            #expect(store.contains(site.weightName) && store.contains(site.biasName))
        }
    }

    @Test func freezingMergesTrainableSegments() {
        let store = ParameterStore(config: TinyModel.config)
        store.setRequiresGradForAll(false)
        store.setRequiresGrad(true, named: "blocks.0.attn.q.bias")
        store.setRequiresGrad(true, named: "blocks.0.attn.k.weight")
        store.setRequiresGrad(true, named: "blocks.0.attn.k.bias")
        let qb = store.view(named: "blocks.0.attn.q.bias"), kw = store.view(named: "blocks.0.attn.k.weight"),
            kb = store.view(named: "blocks.0.attn.k.bias")
        #expect(store.trainableSegments == [
            TrainableSegment(range: qb.range, decays: false), TrainableSegment(range: kw.range, decays: true),
            TrainableSegment(range: kb.range, decays: false),
        ])
        store.setRequiresGradForAll(false)
        store.setRequiresGrad(true, named: "ln_f.weight")
        store.setRequiresGrad(true, named: "ln_f.bias")
        let lw = store.view(named: "ln_f.weight"), lb = store.view(named: "ln_f.bias")
        #expect(store.trainableSegments == [TrainableSegment(range: lw.offset..<lb.range.upperBound, decays: false)])
    }

    @Test func tensorsRoundTripThroughLoad() throws {
        let a = ParameterStore(config: TinyModel.config), b = ParameterStore(config: TinyModel.config)
        a.initialize(seed: 3)
        for name in a.names { try b.load(named: name, from: a.tensor(named: name)) }
        #expect(a.values.copy(0..<a.count) == b.values.copy(0..<b.count))
        #expect(throws: ParameterStoreError.shapeMismatch(name: "wte", expected: [11, 8], got: [8, 11])) {
            try b.load(named: "wte", from: Tensor(shape: [8, 11]))
        }
        #expect(throws: ParameterStoreError.unknownName("blocks.9.ln1.weight")) {
            try b.load(named: "blocks.9.ln1.weight", from: Tensor(shape: [8]))
        }
    }

    @Test func initializationIsSeededAndFollowsGPT2() {
        let config = ModelConfig.reference
        let a = ParameterStore(config: config), b = ParameterStore(config: config), c = ParameterStore(config: config)
        a.initialize(seed: 42); b.initialize(seed: 42); c.initialize(seed: 43)
        #expect(a.values.copy(0..<a.count) == b.values.copy(0..<b.count))
        #expect(a.values.copy(0..<a.count) != c.values.copy(0..<c.count))
        #expect(a.tensor(named: "blocks.0.ln1.weight").storage.allSatisfy { $0 == 1 })
        #expect(a.tensor(named: "blocks.3.mlp.fc.bias").storage.allSatisfy { $0 == 0 })
        func std(_ t: Tensor) -> Double {
            let n = Double(t.count)
            let mean = t.storage.reduce(0) { $0 + Double($1) } / n
            return (t.storage.reduce(0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n).squareRoot()
        }
        // 16k–65k samples: the standard deviation is within a few percent of its target.
        #expect(abs(std(a.tensor(named: "blocks.0.mlp.fc.weight")) - 0.02) < 0.001)
        #expect(abs(std(a.tensor(named: "blocks.0.attn.o.weight")) - 0.02 / 8.0.squareRoot()) < 0.0005)
    }

    @Test("SmolLM2-135M's shape holds 134,515,008 parameters (its published count), no wpe, no biases, a tied head")
    func smolLM2Layout() {
        let store = ParameterStore(config: .smolLM2())
        #expect(store.count == 134_515_008)
        #expect(!store.contains("wpe") && !store.contains("lm_head.weight"))
        #expect(!store.names.contains { $0.hasSuffix(".bias") })
        #expect(store.view(named: "blocks.29.attn.k.weight").shape == [192, 576])
        #expect(store.view(named: "blocks.0.mlp.down.weight").shape == [576, 1536])
        #expect(FullFineTuning().expectedTrainableParameterCount(config: .smolLM2()) == store.count)
    }

    @Test("a LLaMA configuration decodes transformers-like keys and refuses what does not fit, naming the key")
    func llamaConfigDecoding() throws {
        let json = #"{"architecture": "llama", "vocab_size": 11, "d_model": 8, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "d_ff": 12, "context_length": 9, "rope_theta": 500, "rms_norm_eps": 1e-6, "tie_word_embeddings": true}"#
        let config = try JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8))
        #expect(config.isLlama && config.kvChannels == 4 && config.ropeTheta == 500 && config.tiedEmbeddings)
        #expect(try JSONDecoder().decode(ModelConfig.self, from: JSONEncoder().encode(config)) == config)
        let gpt2 = try ModelConfig(vocabSize: 11, dModel: 8, layers: 2, heads: 2, dFF: 16, contextLength: 6)
        let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(gpt2)) as! [String: Any]
        #expect(Set(encoded.keys) == ["vocab_size", "d_model", "n_layers", "n_heads", "d_ff", "context_length"])
        #expect(throws: ModelConfigError.kvHeadsDoNotDivideHeads(heads: 4, kvHeads: 3)) {
            try ModelConfig(architecture: .llama, vocabSize: 11, dModel: 8, layers: 2, heads: 4, kvHeads: 3, dFF: 12, contextLength: 9)
        }
        #expect(throws: ModelConfigError.oddHeadSize(3)) {
            try ModelConfig(architecture: .llama, vocabSize: 11, dModel: 9, layers: 2, heads: 3, kvHeads: 3, dFF: 12, contextLength: 9)
        }
        #expect(throws: ModelConfigError.notForArchitecture(field: "n_kv_heads", architecture: .gpt2)) {
            try ModelConfig(architecture: .gpt2, vocabSize: 11, dModel: 8, layers: 2, heads: 2, kvHeads: 1, dFF: 12, contextLength: 9)
        }
    }
}
