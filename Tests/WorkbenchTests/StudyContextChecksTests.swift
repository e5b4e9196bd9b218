import Foundation
import Testing
@testable import Workbench

/// Constraints the study and its data files fix are checked when the study resolves, before any
/// training: a soft prompt's positions and user records longer than the context.
@Suite struct StudyContextChecksTests {
    @Test("prompt tuning whose virtual tokens leave too few positions is refused at its num_virtual_tokens, naming the column")
    func softPromptLeavesTooLittle() throws {
        try withTemporaryFolder { folder in
            let text = tinyStudyText(methods: "  - {method: prompt, num_virtual_tokens: 20}\n")
            let study = try writeStudy(text, in: folder)
            #expect {
                try ResolvedStudy(study)
            } throws: { error in
                guard let e = error as? StudyError else { return false }
                return e.keyPath == "methods[0].num_virtual_tokens" && e.message.contains("20 virtual tokens leave 4 of the 24 positions")
            }
            // Fewer virtual tokens fit.
            _ = try ResolvedStudy(try writeStudy(tinyStudyText(methods: "  - {method: prompt, num_virtual_tokens: 4}\n"), in: folder))
        }
    }

    @Test("prefix tuning with more virtual tokens than the context holds is refused at its num_virtual_tokens, before anything is built")
    func prefixLongerThanTheContext() throws {
        try withTemporaryFolder { folder in
            let study = try writeStudy(tinyStudyText(methods: "  - {method: prefix, num_virtual_tokens: 30}\n"), in: folder)
            #expect {
                try ResolvedStudy(study)
            } throws: { error in
                guard let e = error as? StudyError else { return false }
                return e.keyPath == "methods[0].num_virtual_tokens" && e.line == 13 && e.message.contains("30 prefix positions exceed context_length 24")
            }
            _ = try ResolvedStudy(try writeStudy(tinyStudyText(methods: "  - {method: prefix, num_virtual_tokens: 24}\n"), in: folder))
        }
    }

    @Test("a JSONL training record longer than the context is refused before training, naming the task and the record")
    func longTrainingRecord() throws {
        try withTemporaryFolder { folder in
            let data = folder.appendingPathComponent("data.jsonl")
            // Short records, and one long one that hashes into the train split.
            var lines = (0..<40).map { #"{"prompt": "q\#($0)", "completion": "a"}"# }
            let long = (0...).lazy.map { String(repeating: "x", count: 58) + String(format: "%02d", $0 % 100) }
                .first { !RecordSplit.isTest($0, testPercent: 20) }!
            lines.append(#"{"prompt": "\#(long)", "completion": "long"}"#)
            try lines.joined(separator: "\n").write(to: data, atomically: true, encoding: .utf8)
            let text = tinyStudyText().replacingOccurrences(of: "  - {name: mod7, kind: modular_add, modulus: 7, max_operand: 20}",
                                                           with: "  - {name: user, kind: jsonl, path: \(data.path), test_percent: 20}")
            let study = try writeStudy(text, in: folder)
            #expect {
                try ResolvedStudy(study)
            } throws: { error in
                guard let e = error as? StudyError else { return false }
                return e.keyPath == "tasks[1]" && e.message.contains("training data") && e.message.contains("needs 64 positions, more than the context length 24")
            }
        }
    }
}
