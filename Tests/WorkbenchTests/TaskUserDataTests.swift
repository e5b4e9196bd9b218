import Testing
@testable import Workbench

/// JSONL and text files: loading, errors naming file, line and column, normalisation.
@Suite struct TaskUserDataTests {
    /// The `TaskDataError` thrown by loading `contents` as JSONL.
    func jsonlError(_ contents: String, mapUnknown: Bool = false) throws -> TaskDataError? {
        try withTaskDataFile(contents) { path in
            do {
                _ = try JSONLTask(file: path, mapUnknown: mapUnknown)
                return nil
            } catch let e as TaskDataError {
                #expect(e.file == path)
                #expect(e.description.hasPrefix(path))
                return e
            }
        }
    }

    @Test func jsonlRecordsBecomeExamplesSplitByPrompt() throws {
        let task = try withTaskDataFile(numberedJSONL(200) + "\n  \n") { try JSONLTask(file: $0) }
        #expect(task.trainRecords.count + task.testRecords.count == 200)
        #expect(task.testSize == task.testRecords.count)
        #expect((5...40).contains(task.testSize), "10 % of 200 expected, got \(task.testSize)")
        let all = task.trainRecords + task.testRecords
        #expect(all.allSatisfy { "a" + $0.prompt.dropFirst().dropLast() == $0.answer })
    }

    @Test func invalidJSONNamesTheLine() throws {
        let e = try jsonlError(numberedJSONL(2) + "{\"prompt\": \"x\", \n")
        #expect(e?.line == 3)
        #expect(e?.reason.hasPrefix("invalid JSON") == true)
    }

    @Test func nonObjectsMissingKeysAndWrongTypesNameTheLine() throws {
        let base = numberedJSONL(3)
        #expect(try jsonlError(base + "[1, 2]\n")?.reason == "expected a JSON object with \"prompt\" and \"completion\", got an array")
        let missing = try jsonlError(base + "\n{\"prompt\": \"q=\"}\n")
        #expect(missing?.line == 5 && missing?.reason == "missing key \"completion\"")
        let wrong = try jsonlError("{\"prompt\": 12, \"completion\": \"a\"}\n" + base)
        #expect(wrong?.line == 1 && wrong?.reason == "\"prompt\" must be a string, got a number")
        #expect(try jsonlError("{\"prompt\": \"p\", \"completion\": null}\n")?.reason == "\"completion\" must be a string, got null")
    }

    @Test func characterOutsideTheVocabularyNamesLineAndColumnUnlessMapped() throws {
        let contents = numberedJSONL(150) + "{\"prompt\": \"caf\u{e9}=\", \"completion\": \"x\"}\n"
        let e = try jsonlError(contents)
        #expect(e?.line == 151 && e?.column == 4)
        #expect(e?.reason.contains("\"prompt\"") == true)
        #expect(try jsonlError(contents, mapUnknown: true) == nil)
        let task = try withTaskDataFile(contents) { try JSONLTask(file: $0, mapUnknown: true) }
        #expect(task.mapsUnknownCharacters)
    }

    @Test func missingFileAndTinyFilesAreReported() throws {
        do {
            _ = try JSONLTask(file: "/nonexistent/records.jsonl")
            Issue.record("expected an error")
        } catch let e as TaskDataError {
            #expect(e.file == "/nonexistent/records.jsonl" && e.reason.hasPrefix("cannot read file"))
        }
        #expect(try jsonlError(numberedJSONL(1))?.reason.contains("split") == true)
    }

    @Test func textFilesBecomeWindowsWithNewlinesAsSpaces() throws {
        let line = "the quick brown fox jumps over the lazy dog"
        let text = Array(repeating: line, count: 40).enumerated().map { "\($0.offset) \($0.element)" }.joined(separator: "\n")
        let task = try withTaskDataFile(text, name: "corpus.txt") { try TextTask(file: $0, window: 16) }
        let windows = task.trainRecords + task.testRecords
        #expect(task.isLanguageModelling)
        #expect(windows.allSatisfy { $0.prompt.isEmpty && !$0.endsWithMarker && $0.answer.count <= 16 })
        #expect(windows.allSatisfy { !$0.answer.contains("\n") })
        let normalised = text.replacingOccurrences(of: "\n", with: " ")
        #expect(Set(windows.map(\.answer)).isSubset(of: Set(stride(from: 0, to: normalised.count, by: 16).map {
            String(Array(normalised)[$0..<min($0 + 16, normalised.count)])
        })))
        #expect(!task.testRecords.isEmpty && !task.trainRecords.isEmpty)
    }

    @Test func textCharacterOutsideTheVocabularyNamesLineAndColumn() throws {
        let text = String(repeating: "plain ascii text here. ", count: 30) + "\nsecond line\nna\u{ef}ve\n"
        try withTaskDataFile(text, name: "corpus.txt") { path in
            do {
                _ = try TextTask(file: path)
                Issue.record("expected an error")
            } catch let e as TaskDataError {
                #expect(e.file == path && e.line == 3 && e.column == 3)
            }
            #expect(try TextTask(file: path, mapUnknown: true).mapsUnknownCharacters)
        }
    }
}
