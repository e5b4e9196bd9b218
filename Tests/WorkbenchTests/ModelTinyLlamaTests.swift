import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// A tiny random LLaMA saved by transformers as an HF folder (config.json + model.safetensors;
/// grouped-query attention 4 heads / 2 KV heads, untied head, RoPE θ 500, non-trivial norms):
/// read through `LlamaCheckpoint(folder:)` and run by `LlamaInference`, its logits and loss agree
/// with PyTorch's float64 forward of the same weights (Tests/Fixtures/make_tiny_llama_fixture.py).
@Suite("Model: a tiny HF LLaMA folder against PyTorch float64")
struct ModelTinyLlamaTests {
    struct Reference: Decodable { var magic: String; var version: Int; var tokens: [Int]; var logits: [Double]; var loss: Double }

    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/llama")
    /// Float32 against float64 through two layers of width 32: measured 7.5e-8.
    static let logitTolerance = 1e-5

    static func maxDifference(_ ours: [Float], _ reference: [Double]) -> Double {
        zip(ours, reference).reduce(0) { max($0, abs(Double($1.0) - $1.1)) }
    }

    @Test("config.json and the safetensors read as an untied GQA LLaMA; logits within 1e-5 of float64, loss within 1e-6; a 1 % change of one reference value is caught")
    func tinyFolder() throws {
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.folder.appendingPathComponent("tiny_reference.json")))
        #expect(reference.magic == "workbench-tiny-llama-reference" && reference.version == 1)
        let checkpoint = try LlamaCheckpoint(folder: Self.folder.appendingPathComponent("tiny_hf").path)
        #expect(checkpoint.config == .init(layers: 2, hidden: 32, heads: 4, kvHeads: 2, intermediate: 48, vocab: 97,
                                           ropeTheta: 500, rmsEps: 1e-5, tiedEmbeddings: false))
        let model = try checkpoint.inference(maxPositions: 64)
        let logits = model.logits(reference.tokens)
        let difference = Self.maxDifference(logits, reference.logits)
        #expect(logits.count == reference.logits.count && difference <= Self.logitTolerance, "max |Δlogit| \(difference)")
        let nll = model.meanNLL(reference.tokens).nll
        #expect(abs(nll - reference.loss) <= 1e-6 * reference.loss, "loss ours \(nll), PyTorch \(reference.loss)")
        var perturbed = reference.logits
        perturbed[37] *= 1.01
        #expect(Self.maxDifference(logits, perturbed) > Self.logitTolerance, "a 1 % change of one logit must not pass")
    }

    @Test("loaded into the training engine through the one HF ↔ engine name map, the folder gives the same logits and loss")
    func trainingEngine() throws {
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.folder.appendingPathComponent("tiny_reference.json")))
        let checkpoint = try LlamaCheckpoint(folder: Self.folder.appendingPathComponent("tiny_hf").path)
        let T = reference.tokens.count
        let model = TransformerModel(config: try checkpoint.modelConfig(contextLength: 64), maxB: 1, maxT: T)
        try checkpoint.load(into: model)
        let tokens = reference.tokens.map(Int32.init)
        // Mean NLL of tokens 1…T−1: targets are the next tokens, the last position masked out.
        var mask = [Float](repeating: 1, count: T)
        mask[T - 1] = 0
        let loss = model.forward(tokens: tokens, targets: Array(tokens.dropFirst()) + [0], mask: mask, B: 1, T: T)
        let difference = Self.maxDifference(model.logits().storage, reference.logits)
        #expect(difference <= Self.logitTolerance, "max |Δlogit| \(difference)")
        #expect(abs(Double(loss) - reference.loss) <= 1e-6 * reference.loss, "loss ours \(loss), PyTorch \(reference.loss)")
        #expect(LlamaCheckpoint.engineName(forHF: "model.layers.1.mlp.down_proj.weight") == "blocks.1.mlp.down.weight")
        #expect(LlamaCheckpoint.engineName(forHF: "model.layers.1.mlp.fc.weight") == nil)
    }

    @Test("a config.json that disagrees with the tensors is refused from the headers, naming the tensor or the layer count")
    func configDisagreeingWithTensors() throws {
        try withTemporaryFolder { folder in
            let source = Self.folder.appendingPathComponent("tiny_hf")
            for name in ["model.safetensors", "config.json"] {
                try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: folder.appendingPathComponent(name))
            }
            let configURL = folder.appendingPathComponent("config.json")
            let original = try String(contentsOf: configURL, encoding: .utf8)
            let config = try #require(try JSONSerialization.jsonObject(with: Data(original.utf8)) as? [String: Any])
            func edited(_ key: String, _ value: Int) throws -> String {
                var c = config
                c[key] = value
                return String(decoding: try JSONSerialization.data(withJSONObject: c), as: UTF8.self)
            }
            let intermediate = try #require(config["intermediate_size"] as? Int)
            try edited("intermediate_size", intermediate + 1).write(to: configURL, atomically: true, encoding: .utf8)
            #expect { try LlamaCheckpoint(folder: folder.path) } throws: { error in
                "\(error)".contains("mlp.gate_proj.weight") && "\(error)".contains("d_ff \(intermediate + 1)")
            }
            try edited("num_hidden_layers", 100_000_000).write(to: configURL, atomically: true, encoding: .utf8)
            #expect { try LlamaCheckpoint(folder: folder.path) } throws: { error in
                "\(error)".contains("100000000 layers need 900000002 tensors")
            }
        }
    }

    @Test("a folder without config.json, or of another model type, is one error naming the file")
    func badFolders() throws {
        try withTemporaryFolder { folder in
            #expect(throws: GGUFError.self) { try LlamaCheckpoint(folder: folder.path) }
            try #"{"model_type": "gpt2", "hidden_size": 8}"#.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
            do { _ = try LlamaCheckpoint(folder: folder.path); Issue.record("accepted a gpt2 config") } catch let error as GGUFError {
                #expect(error.description.contains("config.json") && error.description.contains("gpt2"))
            }
        }
    }
}
