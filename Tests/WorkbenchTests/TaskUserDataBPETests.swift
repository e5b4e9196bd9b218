import Foundation
import Testing
@testable import Workbench

/// User data on a pretrained model: every character encodes through its byte-level BPE, so the
/// character vocabulary's check does not apply; text keeps its line breaks.
@Suite struct TaskUserDataBPETests {
    static let tokenizer = Result {
        try ByteLevelBPETokenizer(tokenizerJSON: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tokenizer/tiny_tokenizer.json").path)
    }

    @Test("a JSONL record with characters outside printable ASCII: an error for the toy vocabulary, fine for BPE")
    func jsonlOutsideASCII() throws {
        let tokenizer = try Self.tokenizer.get()
        try withTemporaryFolder { folder in
            let file = folder.appendingPathComponent("data.jsonl")
            let lines = (0..<40).map { #"{"prompt": "Café n° \#($0)?", "completion": "naïve — \#($0)"}"# }
            try lines.joined(separator: "\n").write(to: file, atomically: true, encoding: .utf8)
            #expect(throws: TaskDataError.self) { try TaskCatalog.make(kind: "jsonl", parameters: ["path": .string(file.path)]) }
            let task = try TaskCatalog.make(kind: "jsonl", parameters: ["path": .string(file.path)], relativeTo: nil, tokenizer: tokenizer)
            let examples = task.examples(split: .test, count: task.testSize, seed: 0)
            let batcher = try Batcher(task: task, examples: examples, batchSize: 1, contextLength: 64, tokenizer: tokenizer)
            batcher.fillSequential(startingAt: 0)
            let ids = batcher.tokens.prefix(batcher.sequenceLength)
            #expect(tokenizer.decode(ids.map(Int.init)).hasPrefix(examples[0].prompt), "the prompt's bytes go through unchanged")
        }
    }

    @Test("a text file keeps its line breaks (CRLF → LF) under BPE; the toy vocabulary turns them into spaces")
    func textLineBreaks() throws {
        let tokenizer = try Self.tokenizer.get()
        try withTemporaryFolder { folder in
            let file = folder.appendingPathComponent("poem.txt")
            try (0..<60).map { "Shall I compare thee\r\nto summer day \($0)?\n" }.joined().write(to: file, atomically: true, encoding: .utf8)
            let bpe = try #require(try TaskCatalog.make(kind: "text", parameters: ["path": .string(file.path), "window": .int(40)],
                                                        relativeTo: nil, tokenizer: tokenizer) as? TextTask)
            let toy = try #require(try TaskCatalog.make(kind: "text", parameters: ["path": .string(file.path), "window": .int(40)]) as? TextTask)
            let all = (bpe.trainRecords + bpe.testRecords).map(\.answer).joined()
            #expect(all.contains("thee\nto") && !all.contains("\r"))
            #expect(!(toy.trainRecords + toy.testRecords).map(\.answer).joined().contains("\n"))
        }
    }
}
