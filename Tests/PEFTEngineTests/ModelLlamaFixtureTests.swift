import Foundation
import Testing
@testable import PEFTEngine

/// The LLaMA block and the methods whose LLaMA form differs from GPT-2's, against transformers
/// and peft themselves (float64 autograd): loss, logits and every gradient of a tiny random
/// LLaMA with grouped-query attention and tied embeddings, bare and under peft's prefix tuning
/// (key/value-head prefix, tokens after it), prompt tuning and (IA)³ with its LLaMA defaults.
/// Regenerate with `python3 Tests/Fixtures/make_llama_training_fixture.py
/// --out Tests/PEFTEngineTests/Fixtures/llama_training_fixture.json`.
@Suite("LLaMA block agrees with transformers and peft")
struct ModelLlamaFixtureTests {
    struct Tensor64: Decodable {
        let shape: [Int]
        let value: [Double]
        let grad: [Double]
    }
    struct Case: Decodable {
        let loss: Double
        let logits: [Double]
    }
    struct Fixture: Decodable {
        struct Base: Decodable {
            let loss: Double
            let logits: [Double]
            let gradients: [String: [Double]]
        }
        struct Parameter: Decodable {
            let shape: [Int]
            let value: [Double]
        }
        struct Prompted: Decodable {
            let num_virtual_tokens: Int
            let loss: Double
            let logits: [Double]
            let embedding: Tensor64
        }
        struct IA3Case: Decodable {
            let target_modules: [String]
            let feedforward_modules: [String]
            let loss: Double
            let logits: [Double]
            let vectors: [String: Tensor64]
        }
        let magic: String
        let version: Int
        let config: ModelConfig
        let batch: Int
        let tokens: [Int32]
        let targets: [Int32]
        let mask: [Float]
        let parameters: [String: Parameter]
        let base: Base
        let prefix: Prompted
        let prompt: Prompted
        let ia3: IA3Case
    }

    static func load() throws -> Fixture {
        let url = try #require(
            Bundle.module.url(forResource: "llama_training_fixture", withExtension: "json", subdirectory: "Fixtures"),
            "llama_training_fixture.json missing: regenerate it with Tests/Fixtures/make_llama_training_fixture.py")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        #expect(fixture.magic == "workbench-llama-training-fixture" && fixture.version == 1, "not a version-1 LLaMA training fixture")
        return fixture
    }

    /// A model with the fixture's weights, built for `maxP` prefix rows.
    static func model(_ f: Fixture, maxP: Int = 0) throws -> TransformerModel {
        let model = TransformerModel(config: f.config, maxB: f.batch, maxT: f.tokens.count / f.batch, maxP: maxP)
        #expect(Set(model.parameters.names) == Set(f.parameters.keys), "parameter names differ from transformers'")
        for (name, p) in f.parameters {
            try model.parameters.load(named: name, from: Tensor(shape: p.shape, storage: p.value.map(Float.init)))
        }
        return model
    }

    /// Runs the method's step (prepare, forward, backward, finish) and checks loss and logits.
    static func step(_ model: TransformerModel, _ method: (any PEFTMethod)?, _ f: Fixture, loss: Double, logits: [Double]) {
        model.parameters.zeroGradients()
        method?.parameters.zeroGradients()
        method?.prepareForward(model: model)
        let T = f.tokens.count / f.batch
        let ours = model.forward(tokens: f.tokens, targets: f.targets, mask: f.mask, B: f.batch, T: T)
        #expect(abs(Double(ours) - loss) <= ModelPyTorchFixtureTests.lossTolerance * abs(loss), "loss \(ours) vs \(loss)")
        let mismatch = ModelPyTorchFixtureTests.firstMismatch("logits", model.logits().storage, logits)
        #expect(mismatch == nil, "\(mismatch ?? "")")
        model.backward()
        method?.finishBackward(model: model)
    }

    static func expectAgrees(_ name: String, _ actual: [Float], _ reference: [Double]) {
        let mismatch = ModelPyTorchFixtureTests.firstMismatch(name, actual, reference)
        #expect(mismatch == nil, "\(mismatch ?? "")")
    }

    @Test("the bare model: loss, logits and every gradient (the tied head's inside wte's)")
    func base() throws {
        let f = try Self.load()
        let model = try Self.model(f)
        Self.step(model, nil, f, loss: f.base.loss, logits: f.base.logits)
        for name in model.parameters.names {
            Self.expectAgrees(name, model.parameters.gradient(named: name).storage, try #require(f.base.gradients[name]))
        }
    }

    @Test("prefix tuning: peft's key/value-head prefix and the tokens' positions after it")
    func prefix() throws {
        let f = try Self.load()
        try Self.checkVirtualTokens(f, f.prefix, PrefixTuning(.init(numVirtualTokens: f.prefix.num_virtual_tokens)),
                                    tensor: "prefix_encoder.embedding.weight")
    }

    @Test("prompt tuning: virtual tokens ahead of the embeddings, rotated at positions 0..<P")
    func prompt() throws {
        let f = try Self.load()
        try Self.checkVirtualTokens(f, f.prompt, PromptTuning(.init(numVirtualTokens: f.prompt.num_virtual_tokens)),
                                    tensor: "prompt_encoder.embedding.weight")
    }

    /// Attaches `method` (prefix or prompt tuning) to the fixture's model, loads peft's embedding
    /// into its `tensor`, and checks loss, logits and that embedding's gradient.
    static func checkVirtualTokens(_ f: Fixture, _ expected: Fixture.Prompted, _ method: any PEFTMethod, tensor: String) throws {
        let model = try Self.model(f, maxP: expected.num_virtual_tokens)
        var rng = SeededRNG(seed: 1)
        try method.attach(to: model, rng: &rng)
        let e = expected.embedding
        try method.parameters.load(named: tensor, from: Tensor(shape: e.shape, storage: e.value.map(Float.init)))
        Self.step(model, method, f, loss: expected.loss, logits: expected.logits)
        Self.expectAgrees(tensor, method.parameters.gradientTensor(named: tensor).storage, e.grad)
    }

    @Test("(IA)³ with its LLaMA defaults: k, v scaled on outputs, down_proj on inputs")
    func ia3() throws {
        let f = try Self.load()
        #expect(f.ia3.target_modules == ["down_proj", "k_proj", "v_proj"] && f.ia3.feedforward_modules == ["down_proj"])
        let model = try Self.model(f)
        let method = IA3()
        var rng = SeededRNG(seed: 1)
        try method.attach(to: model, rng: &rng)
        #expect(method.parameters.count == f.ia3.vectors.values.reduce(0) { $0 + $1.value.count })
        /// peft's "model.layers.0.self_attn.k_proj.ia3_l" is the engine's "blocks.0.attn.k.ia3_l".
        func engine(_ peft: String) throws -> String {
            let parts = peft.split(separator: ".")
            let layer = try #require(Int(parts[2]))
            let kind = try #require(LinearSite.Kind(moduleName: String(parts[4])))
            return LinearSite(layer: layer, kind: kind).name + ".ia3_l"
        }
        for (name, v) in f.ia3.vectors {  // peft's [out, 1] or [1, in] is the engine's [n]
            try method.parameters.load(named: try engine(name), from: Tensor(shape: [v.value.count], storage: v.value.map(Float.init)))
        }
        Self.step(model, method, f, loss: f.ia3.loss, logits: f.ia3.logits)
        for (name, v) in f.ia3.vectors {
            Self.expectAgrees(name, method.parameters.gradientTensor(named: try engine(name)).storage, v.grad)
        }
    }
}
