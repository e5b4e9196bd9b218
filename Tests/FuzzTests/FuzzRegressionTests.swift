import Foundation
import Testing

/// The GGUF cases the fuzz harness found crashing, replayed exactly: one field of the tiny
/// LLaMA's header set to the value that crashed, then the command that crashed. Each must now be
/// refused with one line naming what is wrong.
@Suite("Fuzz regressions: GGUF fields that crashed the workbench")
struct FuzzRegressionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let field: String
        let value: UInt64
        let arguments: [String]
        let message: String
        var testDescription: String { "\(field) = \(value)" }
    }

    static let cases = [
        // LlamaInference trapped on a tensor shape that disagreed with the configuration.
        Case(field: "blk.0.attn_norm.weight.dims[0]", value: 3, arguments: ["generate", "--model", "model.gguf", "--prompt", "hi"],
             message: "tensor 'blk.0.attn_norm.weight': shape [3]"),
        // The embedding had fewer rows than the tokenizer has tokens: CrossEntropy / logits trapped.
        Case(field: "token_embd.weight.dims[1]", value: 13, arguments: ["generate", "--model", "model.gguf", "--prompt", "hi", "--chat"],
             message: "the tokenizer has 262 tokens but the embedding only 13 rows"),
        // An EOS id outside the vocabulary trapped in the loss of the first evaluation.
        Case(field: "tokenizer.ggml.eos_token_id", value: 8453, arguments: ["tokenize", "--model", "model.gguf", "--text", "hi"],
             message: "eos_token_id 8453 is outside the vocabulary of 262 tokens"),
        // A layer count of 10⁸ sized a list of expected tensors before anything was checked.
        Case(field: "llama.block_count", value: 100_000_000, arguments: ["generate", "--model", "model.gguf", "--prompt", "hi"],
             message: "100000000 layers need 900000002 tensors, but the file holds 11"),
    ]

    @Test("refused with one line naming the field's consequence", arguments: cases)
    func replay(_ c: Case) throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-regression-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var bytes = Array(try Data(contentsOf: FuzzSeeds.tinyLlamaGGUF))
        let field = try #require(GGUFMutator.fields(of: bytes).fields.first { $0.name == c.field }, "no field \(c.field)")
        GGUFMutator.write(c.value, into: &bytes, at: field)
        try Data(bytes).write(to: folder.appendingPathComponent("model.gguf"))
        let outcome = try WorkbenchProcess.run(c.arguments, in: folder, timeLimit: 20)
        #expect(outcome.verdict == .refused, "\(outcome.verdict): \(outcome.stderrLines.suffix(3))")
        #expect(outcome.errorLine?.contains(c.message) == true, "\(outcome.stderrLines.suffix(2))")
    }
}
