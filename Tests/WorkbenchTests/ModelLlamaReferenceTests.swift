import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// SmolLM2-135M-Instruct's forward pass against transformers on the same GGUF (float32): logits,
/// per-text NLL and the greedy answer to the ChatML "What is the capital of France?" (fixture
/// written by Tests/Fixtures/make_llama_reference_fixture.py; the model comes through `PackageCache`).
@Suite("Model: SmolLM2-135M against transformers", .serialized, RealData.model)
struct ModelLlamaReferenceTests {
    struct Fixture: Decodable {
        struct Text: Decodable { var text: String; var ids: [Int]; var mean_nll: Double; var argmax: [Int]; var max: [Float]; var probe: [[Float]] }
        struct Chat: Decodable { var prompt_ids: [Int]; var new_ids: [Int]; var text: String }
        var magic: String
        var version: Int
        var probe: [Int]
        var texts: [Text]
        var chat: Chat
    }

    /// Largest |Δlogit| allowed, against logits whose maxima are about 10–30: float32 sums over
    /// 576–1536 terms in another order (OpenBLAS vs MKL) through 30 layers. Measured 8.4e-5 (Intel
    /// Xeon, OpenBLAS Cooperlake); per-text NLL within 8e-7 relative.
    static let logitTolerance: Float = 5e-4
    static let nllRelativeTolerance = 1e-5

    @Test("logits, NLL, tokenization and the greedy answer (Paris) agree with transformers")
    func smollm2() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/llama/smollm2_reference.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        #expect(fixture.magic == "workbench-llama-reference" && fixture.version == 1)
        let gguf = try GGUFFile(path: try PackageCache.resolve(.smollm2_135m_instruct).path)
        let tokenizer = try ByteLevelBPETokenizer(gguf: gguf)
        let model = try LlamaCheckpoint(gguf: gguf).inference(maxPositions: 128)
        var worst: Float = 0
        for text in fixture.texts {
            #expect(tokenizer.encode(text.text) == text.ids)
            let z = model.logits(text.ids), V = model.config.vocab
            for t in 0..<text.ids.count {
                let row = Array(z[(t * V)..<((t + 1) * V)])
                let argmax = row.indices.max { row[$0] < row[$1] }!
                #expect(argmax == text.argmax[t], "\(text.text.prefix(20))… position \(t)")
                worst = max(worst, abs(row[argmax] - text.max[t]))
                for (k, index) in fixture.probe.enumerated() { worst = max(worst, abs(row[index] - text.probe[t][k])) }
            }
            let nll = model.meanNLL(text.ids).nll
            #expect(abs(nll - text.mean_nll) <= Self.nllRelativeTolerance * text.mean_nll, "NLL ours \(nll), transformers \(text.mean_nll)")
        }
        #expect(worst <= Self.logitTolerance, "max |Δlogit| \(worst)")
        let prompt = tokenizer.encode(ChatML.prompt(user: "What is the capital of France?"))
        #expect(prompt == fixture.chat.prompt_ids, "the ChatML prompt")
        let answer = model.generate(prompt, maxNewTokens: fixture.chat.new_ids.count, stop: [2])
        #expect(answer == fixture.chat.new_ids, "greedy: ours \(tokenizer.decode(answer)), transformers \(fixture.chat.text)")
        #expect(tokenizer.decode(answer).contains("Paris"))
    }
}
