import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// The training engine on the real pretrained model: SmolLM2-135M-Instruct's GGUF loaded through
/// `LlamaCheckpoint` into a `TransformerModel` gives transformers' logits, and every method that
/// applies to a LLaMA (all but BitFit, which refuses) trains on one English sentence with its
/// loss going down.
@Suite("Model: SmolLM2-135M in the training engine", .serialized, RealData.model)
struct ModelSmolLM2TrainingTests {
    static let sentence = "The quick brown fox jumps over the lazy dog, and the dog sleeps in the sun."

    /// The real model's weights once, as a values arena to copy into each method's model.
    final class Loaded: @unchecked Sendable {
        let config: ModelConfig
        let values: [Float]
        let tokens: [Int]

        init() throws {
            let gguf = try GGUFFile(path: try PackageCache.resolve(.smollm2_135m_instruct).path)
            let checkpoint = try LlamaCheckpoint(gguf: gguf)
            config = try checkpoint.modelConfig(contextLength: 64)
            let model = TransformerModel(config: config, maxB: 1, maxT: 1)
            try checkpoint.load(into: model)
            values = model.parameters.values.copy(0..<model.parameters.count)
            tokens = try ByteLevelBPETokenizer(gguf: gguf).encode(ModelSmolLM2TrainingTests.sentence)
        }

        /// A fresh model holding the real weights, for batches of one sequence of T tokens.
        func model(maxP: Int = 16) -> TransformerModel {
            let model = TransformerModel(config: config, maxB: 1, maxT: tokens.count - 1, maxP: maxP)
            values.withUnsafeBufferPointer { model.parameters.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
            return model
        }
    }
    static let loaded = Result { try Loaded() }

    @Test("the GGUF in the training engine: logits within 5e-4 of transformers', NLL within 1e-5 relative")
    func logitsMatchTransformers() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/llama/smollm2_reference.json")
        let fixture = try JSONDecoder().decode(ModelLlamaReferenceTests.Fixture.self, from: Data(contentsOf: url))
        let loaded = try Self.loaded.get()
        var worst: Float = 0
        for text in fixture.texts {
            let T = text.ids.count
            let model = TransformerModel(config: loaded.config, maxB: 1, maxT: T)
            loaded.values.withUnsafeBufferPointer { model.parameters.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
            var mask = [Float](repeating: 1, count: T)
            mask[T - 1] = 0
            let ids = text.ids.map(Int32.init)
            let loss = model.forward(tokens: ids, targets: Array(ids.dropFirst()) + [0], mask: mask, B: 1, T: T)
            let z = model.logits().storage, V = loaded.config.vocabSize
            for t in 0..<T {
                worst = max(worst, abs(z[t * V + text.argmax[t]] - text.max[t]))
                for (k, index) in fixture.probe.enumerated() { worst = max(worst, abs(z[t * V + index] - text.probe[t][k])) }
            }
            // 2e-5, not the plain forward's 1e-5: the engine's float32 GEMMs round differently when
            // other suites call OpenBLAS at the same time (measured 8.90e-6 relative under the full
            // suite, below 8.86e-6 alone).
            #expect(abs(Double(loss) - text.mean_nll) <= 2 * ModelLlamaReferenceTests.nllRelativeTolerance * text.mean_nll,
                    "NLL ours \(loss), transformers \(text.mean_nll)")
        }
        #expect(worst <= ModelLlamaReferenceTests.logitTolerance, "max |Δlogit| \(worst)")
    }

    /// Every registered method but BitFit, with a learning rate that moves it in three steps.
    static let methods: [(String, any PEFTMethodConfiguration, Float)] = [
        ("full", FullFineTuning.Configuration(), 1e-4),
        ("lora", LoRA.Configuration(.init(r: 8, loraAlpha: 16)), 1e-3),
        ("qlora", QLoRA.Configuration(.init(r: 8, loraAlpha: 16)), 1e-3),
        ("dora", DoRA.Configuration(.init(r: 8, loraAlpha: 16)), 1e-3),
        ("adapter", HoulsbyAdapter.Configuration(), 1e-3),
        ("prefix", PrefixTuning.Configuration(numVirtualTokens: 8), 1e-2),
        ("prompt", PromptTuning.Configuration(numVirtualTokens: 8), 1e-2),
        ("ia3", IA3.Configuration(), 1e-2),
        ("ln_tuning", LNTuning.Configuration(), 1e-3),
    ]

    @Test("every method trains three steps on the real model and the sentence's loss goes down",
          arguments: methods.map(\.0))
    func trains(_ name: String) throws {
        let loaded = try Self.loaded.get()
        let (_, configuration, lr) = try #require(Self.methods.first { $0.0 == name })
        let model = loaded.model()
        let method = configuration.makeMethod()
        var rng = SeededRNG(seed: 1)
        try method.attach(to: model, rng: &rng)
        let ids = loaded.tokens.map(Int32.init), T = ids.count - 1
        let tokens = Array(ids.dropLast()), targets = Array(ids.dropFirst()), mask = [Float](repeating: 1, count: T)
        let trainer = Trainer(model: model, method: method, settings: .init(learningRate: lr))
        let before = trainer.evaluate(tokens: tokens, targets: targets, mask: mask, B: 1, T: T).loss
        for _ in 0..<3 { trainer.step(tokens: tokens, targets: targets, mask: mask, B: 1, T: T) }
        let after = trainer.evaluate(tokens: tokens, targets: targets, mask: mask, B: 1, T: T).loss
        #expect(after.isFinite && after < before, "\(name): loss \(before) → \(after)")
    }

    @Test("BitFit is refused on the real model, naming ln_tuning")
    func bitfitRefused() throws {
        let model = try Self.loaded.get().model()
        var rng = SeededRNG(seed: 1)
        #expect(throws: PEFTMethodError.self) { try BitFit().attach(to: model, rng: &rng) }
    }
}
