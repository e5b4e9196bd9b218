import Foundation
import Testing
@testable import PEFTEngine

/// Cross-check against an independent implementation: PyTorch (float64 autograd) computed the
/// loss, the logits and every parameter gradient of a tiny model on one batch.
/// Regenerate with `python3 Tests/Fixtures/make_transformer_fixture.py --gelu tanh
/// --out Tests/PEFTEngineTests/Fixtures/transformer_fixture.json` (see the script's header).
@Suite("Model agrees with PyTorch")
struct ModelPyTorchFixtureTests {
    struct Fixture: Decodable {
        struct Config: Decodable {
            let vocab_size, d_model, layers, heads, d_ff, context_length: Int
        }
        struct Parameter: Decodable {
            let shape: [Int]
            let value: [Double]
            let grad: [Double]
        }
        let magic: String
        let version: Int
        let gelu: String
        let config: Config
        let batch: Int
        let tokens: [Int32]
        let targets: [Int32]
        let mask: [Float]
        let loss: Double
        let logits: [Double]
        let parameters: [String: Parameter]
    }

    /// Float32 forward against a float64 reference: relative error of the loss.
    static let lossTolerance = 1e-5
    /// Per-element tolerance for logits and gradients: |a − r| ≤ abs + rel·max|r| of the tensor.
    static let absoluteTolerance = 2e-6, relativeTolerance = 1e-4

    static func load() throws -> Fixture {
        let url = try #require(
            Bundle.module.url(forResource: "transformer_fixture", withExtension: "json", subdirectory: "Fixtures"),
            "transformer_fixture.json missing: regenerate it with Tests/Fixtures/make_transformer_fixture.py")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        #expect(fixture.magic == "workbench-transformer-fixture", "not a transformer fixture")
        #expect(fixture.version == 1, "fixture version \(fixture.version); this test reads version 1")
        #expect(fixture.gelu == "tanh", "the engine's GELU is the tanh approximation")
        return fixture
    }

    /// First element outside tolerance, described, or nil when all agree.
    static func firstMismatch(_ name: String, _ actual: [Float], _ reference: [Double]) -> String? {
        guard actual.count == reference.count else {
            return "\(name): \(actual.count) elements, reference has \(reference.count)"
        }
        let scale = reference.map(abs).max() ?? 0
        let bound = absoluteTolerance + relativeTolerance * scale
        var worst = 0.0
        for (i, (a, r)) in zip(actual, reference).enumerated() {
            let diff = abs(Double(a) - r)
            worst = max(worst, diff)
            if diff > bound {
                return "\(name)[\(i)]: workbench \(a), PyTorch \(r), |diff| \(diff) > \(bound)"
            }
        }
        return nil
    }

    @Test("loss, logits and every gradient match PyTorch float64")
    func matchesPyTorch() throws {
        let f = try Self.load()
        let config = try ModelConfig(
            vocabSize: f.config.vocab_size, dModel: f.config.d_model, layers: f.config.layers,
            heads: f.config.heads, dFF: f.config.d_ff, contextLength: f.config.context_length)
        let T = f.tokens.count / f.batch
        let model = TransformerModel(config: config, maxB: f.batch, maxT: T)
        #expect(Set(model.parameters.names) == Set(f.parameters.keys), "parameter names differ from PyTorch's")
        for (name, p) in f.parameters {
            try model.parameters.load(named: name, from: Tensor(shape: p.shape, storage: p.value.map(Float.init)))
        }
        model.parameters.zeroGradients()
        let loss = model.forward(tokens: f.tokens, targets: f.targets, mask: f.mask, B: f.batch, T: T)
        #expect(abs(Double(loss) - f.loss) <= Self.lossTolerance * abs(f.loss), "loss \(loss) vs PyTorch \(f.loss)")
        #expect(Self.firstMismatch("logits", model.logits().storage, f.logits) == nil,
                "\(Self.firstMismatch("logits", model.logits().storage, f.logits) ?? "")")
        model.backward()
        for name in model.parameters.names {
            let mismatch = Self.firstMismatch(name, model.parameters.gradient(named: name).storage, f.parameters[name]!.grad)
            #expect(mismatch == nil, "\(mismatch ?? "")")
        }
    }
}
