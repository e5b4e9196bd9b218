import ArgumentParser
import Foundation
import Workbench

/// `workbench tokenize --model M (--text S | --file F)`: token ids and pieces of a text under a
/// model's own tokenizer (no special tokens added; control tokens written in the text count).
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids and pieces of a text under a model's tokenizer (byte-level BPE from a GGUF file).")

    @Option(help: "A known model (smollm2-135m-instruct, fetched and cached on first use) or a .gguf file.")
    var model: String

    @Option(help: "The text.") var text: String?
    @Option(help: "A file, read whole as one text (UTF-8).") var file: String?
    @Flag(help: "Print JSON: {\"ids\": [...], \"pieces\": [...], \"count\": N}.") var json = false

    func validate() throws {
        guard (text == nil) != (file == nil) else { throw ValidationError("give exactly one of --text and --file") }
    }

    func run() throws {
        try runCommand("tokenize") { try tokenize() }
    }

    private func tokenize() throws {
        let input: String
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("--file \(file): cannot be read") }
            guard let s = String(data: data, encoding: .utf8) else { throw ValidationError("--file \(file): not UTF-8 text") }
            input = s
        } else {
            input = text ?? ""
        }
        let gguf = try ModelSource.ggufFile(model) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        let tokenizer = try ByteLevelBPETokenizer(gguf: gguf)
        let ids = tokenizer.encode(input)
        let pieces = tokenizer.pieces(ids)
        if json {
            let data = try JSONSerialization.data(withJSONObject: ["ids": ids, "pieces": pieces, "count": ids.count], options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(ids.count) tokens (no special tokens added)")
            for (id, piece) in zip(ids, pieces) { print(String(format: "%6d  ", id) + piece.debugDescription) }
        }
    }
}
