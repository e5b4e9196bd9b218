import Foundation

/// User data: a plain UTF-8 text file as a language-modelling task.
///
/// The text is normalised first — every newline (LF, CR, CRLF, …) and tab becomes one space —
/// because the vocabulary holds printable ASCII only. It is then cut into consecutive,
/// non-overlapping windows of `window` characters (the last, shorter window is kept when it has
/// at least `window / 2` characters). Each window is one example with an empty prompt and the
/// window as answer, without an end marker (`endsWithMarker = false`): the batcher opens it with
/// the end-of-answer marker as separator and the loss covers every character of the window, so
/// the metrics are per-character loss, perplexity e^loss and token accuracy.
///
/// With a pretrained model's byte-level tokenizer (`normalisesWhitespace` false) the text keeps
/// its line breaks (CRLF and CR become LF) and every character encodes.
///
/// A character outside the vocabulary throws a `TaskDataError` with its line and column
/// (1-based, in the original file) unless `mapUnknown` is true. Train/test assignment hashes
/// the window text (`RecordSplit`), so identical windows share a split.
public struct TextTask: Task {
    public let file: String
    public let window: Int
    public let mapUnknown: Bool
    public let testPercent: Double
    public let trainRecords: [Example]
    public var trainingRecords: [Example]? { trainRecords }
    public let testRecords: [Example]
    public var kind: String { "text" }
    public var name: String { "text(\((file as NSString).lastPathComponent), window \(window))" }
    public var testSize: Int { testRecords.count }
    public var isLanguageModelling: Bool { true }
    public var mapsUnknownCharacters: Bool { mapUnknown }

    public init(file: String, window: Int = 32, mapUnknown: Bool = false, testPercent: Double = 10,
                normalisesWhitespace: Bool = true) throws {
        guard window >= 2 else { throw TaskDataError(file: file, reason: "window \(window) must be ≥ 2") }
        guard testPercent > 0 && testPercent < 100 else {
            throw TaskDataError(file: file, reason: "test_percent \(testPercent) must be in (0, 100)")
        }
        self.file = file
        self.window = window
        self.mapUnknown = mapUnknown
        self.testPercent = testPercent
        let text = try UserText.read(file)
        let vocabulary = Vocabulary()
        var normalised: [Character] = []
        normalised.reserveCapacity(text.utf8.count)
        var line = 1, column = 1
        for c in text {
            if !normalisesWhitespace {
                normalised.append(c == "\r\n" || c == "\r" ? "\n" : c)
                continue
            }
            if c.isNewline {
                normalised.append(" ")
                line += 1
                column = 1
                continue
            }
            if c == "\t" {
                normalised.append(" ")
            } else {
                if !mapUnknown && vocabulary.token(for: c) == nil {
                    throw TaskDataError(file: file, line: line, column: column,
                                        reason: "character \(c.debugDescription) is not in the vocabulary (printable ASCII; set map_unknown to map it to the unknown token)")
                }
                normalised.append(c)
            }
            column += 1
        }
        var train: [Example] = [], test: [Example] = []
        var start = 0
        while start < normalised.count {
            let end = min(start + window, normalised.count)
            if end - start >= max(1, window / 2) {
                let piece = String(normalised[start..<end])
                let example = Example(prompt: "", answer: piece, endsWithMarker: false)
                if RecordSplit.isTest(piece, testPercent: testPercent) { test.append(example) } else { train.append(example) }
            }
            start = end
        }
        guard !train.isEmpty else { throw TaskDataError(file: file, reason: "no windows in the train split (\(test.count) windows of \(window) characters, test_percent \(testPercent))") }
        guard !test.isEmpty else { throw TaskDataError(file: file, reason: "no windows in the test split (\(train.count) windows of \(window) characters, test_percent \(testPercent)); use more text or raise test_percent") }
        trainRecords = train
        testRecords = test
    }

    public func examples(split: TaskSplit, count: Int, seed: UInt64) -> [Example] {
        RecordSplit.examples(split, train: trainRecords, test: testRecords, count: count, seed: seed, taskName: name)
    }
}
