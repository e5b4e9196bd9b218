import Foundation
import Testing
@testable import Workbench

/// Running text cut into windows of whole words, each within the token budget.
@Suite struct TaskCorpusTests {
    static let text = "It was the best of times,\r\nit was the worst of times;\n\n  it was the age of wisdom, antidisestablishmentarianism."

    @Test("windows never exceed the budget, keep whole words, and together are the text (line endings as LF)")
    func windowsCoverTheText() {
        let tokenizer = Vocabulary()   // one token per character: the count is the length
        for budget in [8, 13, 40, 500] {
            let windows = CorpusTask.windows(Self.text, maxTokens: budget, tokenizer: tokenizer)
            #expect(windows.allSatisfy { $0.count <= budget }, "budget \(budget): \(windows)")
            #expect(windows.joined() == Self.text.replacingOccurrences(of: "\r\n", with: "\n"), "budget \(budget)")
            if budget >= 40 {
                // Every window but the first starts at a word boundary (whitespace before its word).
                #expect(windows.dropFirst().allSatisfy { $0.first!.isWhitespace })
            }
        }
        // The 28-letter word is longer than a 13-token window: it alone is cut by characters.
        let cut = CorpusTask.windows(Self.text, maxTokens: 13, tokenizer: Vocabulary())
        #expect(cut.contains(" antidisestab"))
    }

    @Test("files pick texts by stem; an unknown one is named with the known ones; test and train split by window hash")
    func filesAndSplits() throws {
        let plays = [(name: "hamlet_gut.txt", text: String(repeating: "To be, or not to be: that is the question. ", count: 40)),
                     (name: "tempest_gut.txt", text: String(repeating: "Full fathom five thy father lies. ", count: 40))]
        let task = try CorpusTask(textName: "shakespeare", texts: plays, files: ["tempest"], windowTokens: 50,
                                  testPercent: 30, maxWindows: nil, tokenizer: Vocabulary())
        #expect(task.files == ["tempest"] && task.isLanguageModelling && task.primaryMetric == .meanNLL)
        let all = task.trainRecords + task.testRecords
        #expect(all.allSatisfy { $0.prompt.isEmpty && !$0.endsWithMarker && !$0.answer.contains("To be") })
        #expect(task.testRecords.allSatisfy { RecordSplit.isTest($0.answer, testPercent: 30) })
        #expect(throws: TaskCatalogError.invalidValue(kind: "corpus", parameter: "files",
                                                      reason: "shakespeare has no file \"lear\" (it has: hamlet, tempest)")) {
            try CorpusTask(textName: "shakespeare", texts: plays, files: ["lear"], windowTokens: 50, testPercent: 30,
                           maxWindows: nil, tokenizer: Vocabulary())
        }
        let capped = try CorpusTask(textName: "shakespeare", texts: plays, files: nil, windowTokens: 50, testPercent: 30,
                                    maxWindows: 10, tokenizer: Vocabulary())
        #expect(capped.trainRecords.count + capped.testRecords.count == 10)
    }

    @Test("an unknown text is named with the known ones, before anything is fetched")
    func unknownText() {
        #expect(throws: TaskCatalogError.invalidValue(kind: "corpus", parameter: "text",
                                                      reason: "unknown text \"dickens\"; known: shakespeare, milton, bible-web, human-eval")) {
            try TaskCatalog.make(kind: "corpus", parameters: ["text": .string("dickens")])
        }
    }

    @Test("human-eval as running text: the 164 tasks' signatures, docstrings and reference solutions",
          .enabled(if: KnownText.humanEval.isCached, "human-eval is not in the cache: run `workbench fetch --all` (make test does)"))
    func humanEvalCode() throws {
        let texts = try KnownText.humanEval.load()
        #expect(texts.count == 1)
        let code = texts[0].text
        #expect(code.components(separatedBy: "\n\n").count >= 164)
        #expect(code.hasPrefix("from typing import List\n\n\ndef has_close_elements("))
        #expect(!code.contains("canonical_solution") && !code.contains("\"task_id\""), "decoded code, not JSON")
    }
}
