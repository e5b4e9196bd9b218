import ArgumentParser
import Foundation
import PEFTEngine
import Workbench

/// Loads a LLaMA-family model and its tokenizer for `generate` and `score`; every token id the
/// tokenizer can produce must index the embedding.
func loadLlama(_ model: String) throws -> (LlamaCheckpoint, ByteLevelBPETokenizer) {
    let checkpoint: LlamaCheckpoint, tokenizer: ByteLevelBPETokenizer
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: model, isDirectory: &isFolder), isFolder.boolValue {
        // An HF folder: config.json, safetensors, tokenizer.json.
        checkpoint = try LlamaCheckpoint(folder: model)
        tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: URL(fileURLWithPath: model).appendingPathComponent("tokenizer.json").path)
    } else {
        let gguf = try ModelSource.ggufFile(model) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        checkpoint = try LlamaCheckpoint(gguf: gguf)
        tokenizer = try ByteLevelBPETokenizer(gguf: gguf)
    }
    guard tokenizer.vocabularySize <= checkpoint.config.vocab else {
        throw ValidationError("\(model): the tokenizer has \(tokenizer.vocabularySize) tokens but the embedding only \(checkpoint.config.vocab) rows")
    }
    return (checkpoint, tokenizer)
}

/// `workbench generate --model M --prompt S [--chat]`: greedy continuation.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt greedily with a LLaMA-family model (GGUF), optionally through its ChatML chat template.")

    @Option(help: "A known model (smollm2-135m-instruct), a .gguf file, or an HF LLaMA folder (config.json, safetensors, tokenizer.json).") var model: String
    @Option(help: "The prompt.") var prompt: String
    @Flag(help: "Wrap the prompt as one user message in the ChatML template (with the template's default system message).") var chat = false
    @Option(help: "At most this many new tokens.") var maxNewTokens = 64
    @Flag(help: "Print JSON: prompt ids, new ids, text.") var json = false

    func validate() throws {
        guard (1...4096).contains(maxNewTokens) else { throw ValidationError("--max-new-tokens must be in 1…4096") }
    }

    func run() throws {
        try runCommand("generate") { try generate() }
    }

    private func generate() throws {
        let (checkpoint, tokenizer) = try loadLlama(model)
        let text = chat ? ChatML.prompt(user: prompt) : prompt
        let ids = tokenizer.encode(text)
        let model = try checkpoint.inference(maxPositions: ids.count + maxNewTokens)
        let stop = Set([tokenizer.eosID, tokenizer.tokens.firstIndex(of: "<|endoftext|>")].compactMap { $0 })
        let new = model.generate(ids, maxNewTokens: maxNewTokens, stop: stop)
        let answer = tokenizer.decode(new.filter { !stop.contains($0) })
        if json {
            let data = try JSONSerialization.data(withJSONObject: ["prompt_ids": ids, "new_ids": new, "text": answer], options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(answer)
        }
    }
}

/// `workbench score --model M --file F [--lines]`: mean NLL per scored token and perplexity.
struct ScoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Mean negative log-likelihood (nats per scored token) and perplexity of a text under a LLaMA-family model.",
        discussion: "The first token of each text is not scored and no BOS token is added (--bos adds one).")

    @Option(help: "A known model (smollm2-135m-instruct), a .gguf file, or an HF LLaMA folder (config.json, safetensors, tokenizer.json).") var model: String
    @Option(help: "The text file (UTF-8); the whole file is one text.") var file: String
    @Flag(help: "Score each line as its own text.") var lines = false
    @Flag(help: "Prepend the model's BOS token (then every token of the text is scored).") var bos = false
    @Flag(help: "Print JSON.") var json = false

    func run() throws {
        try runCommand("score") { try score() }
    }

    private func score() throws {
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw ValidationError("--file \(file): cannot be read as UTF-8 text")
        }
        let (checkpoint, tokenizer) = try loadLlama(model)
        let texts = lines ? text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) : [text]
        let encoded = texts.map { t in (bos ? tokenizer.bosID.map { [$0] } ?? [] : []) + tokenizer.encode(t) }
        let longest = encoded.map(\.count).max() ?? 1
        let model = try checkpoint.inference(maxPositions: max(longest, 2))
        var total = 0.0, scored = 0
        var perText: [[String: Any]] = []
        for ids in encoded where ids.count >= 2 {
            let r = model.meanNLL(ids)
            total += r.nll * Double(r.scored)
            scored += r.scored
            perText.append(["tokens": ids.count, "scored": r.scored, "nll": r.nll])
        }
        let mean = scored > 0 ? total / Double(scored) : .nan
        if json {
            let object: [String: Any] = ["mean_nll": mean, "perplexity": exp(mean), "scored_tokens": scored, "texts": perText.count,
                                         "bos_added": bos, "note": "first token of each text not scored"]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "mean NLL %.6f nats/token, perplexity %.4f, %d scored tokens in %d text(s)", mean, exp(mean), scored, perText.count))
            print(bos ? "a BOS token was added; every text token is scored" : "no BOS added; the first token of each text is not scored")
        }
    }
}
