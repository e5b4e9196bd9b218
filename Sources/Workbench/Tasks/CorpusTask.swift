import Foundation

/// Running text of a known public-domain text (`KnownText`: shakespeare, milton, bible-web) as a
/// language-modelling task, cut into windows of at most `windowTokens` tokens of the model's
/// tokenizer: the held-out text whose NLL, perplexity and KL from the base measure what a
/// fine-tune forgets of general language, or the text a domain-adaptation task trains on.
///
/// Windows: line endings become "\n"; the text is split before each run of whitespace into
/// words-with-their-leading-space; words are appended to a window while its token count (each
/// window encoded whole, so the count is exact) stays ≤ `windowTokens`. A word longer than a
/// window on its own is cut by characters. Each window is one example with an empty prompt
/// (the batcher opens it with the tokenizer's sequence start, `<|endoftext|>` for a BPE model,
/// so every token of the window is scored) and no end marker.
///
/// `files` picks texts by file stem (`hamlet`, `tempest`…; all when nil), so a study can train
/// on some plays and hold out others. Train/test assignment hashes each window's text
/// (`RecordSplit`, `testPercent`); `maxWindows` caps the number of windows read (from the
/// start of each file in turn, in `files` order), keeping evaluation affordable.
public struct CorpusTask: Task {
    public let textName: String
    public let files: [String]
    public let windowTokens: Int
    public let testPercent: Double
    public let trainRecords: [Example]
    public var trainingRecords: [Example]? { trainRecords }
    public let testRecords: [Example]
    public var kind: String { "corpus" }
    public var name: String { "corpus(\(textName)\(files.isEmpty ? "" : ": " + files.joined(separator: ",")), \(windowTokens) tokens)" }
    public var testSize: Int { testRecords.count }
    public var isLanguageModelling: Bool { true }
    public var mapsUnknownCharacters: Bool { true }

    /// - Parameters:
    ///   - texts: the known text's files as `KnownText.load` returns them.
    public init(textName: String, texts: [(name: String, text: String)], files: [String]?, windowTokens: Int,
                testPercent: Double, maxWindows: Int?, tokenizer: any TaskTokenizer) throws {
        let stems = texts.map { Self.stem($0.name) }
        var chosen = texts
        if let files {
            chosen = try files.map { file in
                guard let i = stems.firstIndex(of: file) else {
                    throw TaskCatalogError.invalidValue(kind: "corpus", parameter: "files",
                                                        reason: "\(textName) has no file \"\(file)\" (it has: \(stems.joined(separator: ", ")))")
                }
                return texts[i]
            }
        }
        self.textName = textName
        self.files = files ?? []
        self.windowTokens = windowTokens
        self.testPercent = testPercent
        var train: [Example] = [], test: [Example] = []
        var windows = 0
        outer: for (_, text) in chosen {
            for window in Self.windows(text, maxTokens: windowTokens, tokenizer: tokenizer) {
                if let maxWindows, windows >= maxWindows { break outer }
                let example = Example(prompt: "", answer: window, endsWithMarker: false)
                if RecordSplit.isTest(window, testPercent: testPercent) { test.append(example) } else { train.append(example) }
                windows += 1
            }
        }
        guard !train.isEmpty, !test.isEmpty else {
            throw TaskCatalogError.invalidValue(kind: "corpus", parameter: "max_windows",
                                                reason: "\(windows) windows leave \(train.count) for training and \(test.count) for testing; both need at least one")
        }
        trainRecords = train
        testRecords = test
    }

    public func examples(split: TaskSplit, count: Int, seed: UInt64) -> [Example] {
        RecordSplit.examples(split, train: trainRecords, test: testRecords, count: count, seed: seed, taskName: name)
    }

    /// `hamlet_gut.txt` → `hamlet`; `t_web.csv.gz` → `t_web`.
    static func stem(_ file: String) -> String {
        var name = file
        for suffix in [".gz", ".csv", ".txt", "_gut"] where name.hasSuffix(suffix) { name = String(name.dropLast(suffix.count)) }
        return name
    }

    /// Consecutive windows of whole words, each ≤ `maxTokens` tokens.
    static func windows(_ raw: String, maxTokens: Int, tokenizer: any TaskTokenizer) -> [String] {
        let text = raw.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var words: [Substring] = []
        var start = text.startIndex, i = text.startIndex, inWord = false
        while i < text.endIndex {
            let space = text[i].isWhitespace
            if space && inWord {
                words.append(text[start..<i])
                start = i
                inWord = false
            } else if !space {
                inWord = true
            }
            i = text.index(after: i)
        }
        if start < text.endIndex { words.append(text[start...]) }
        func count(_ s: String) -> Int { (try? tokenizer.encode(s, mapUnknown: true).count) ?? s.count }
        var out: [String] = []
        var window = "", estimate = 0
        func close() {
            guard !window.isEmpty else { return }
            out.append(window)
            window = ""
            estimate = 0
        }
        for word in words {
            let piece = String(word)
            let n = count(piece)
            if n > maxTokens {
                close()
                var chunk = ""
                for c in piece {
                    if count(chunk + String(c)) > maxTokens { out.append(chunk); chunk = "" }
                    chunk.append(c)
                }
                if !chunk.isEmpty { window = chunk; estimate = count(chunk) }
                continue
            }
            if estimate + n > maxTokens {
                // The estimate (sum of per-word counts) is close; the window's own count decides.
                if count(window + piece) > maxTokens { close() }
            }
            window += piece
            estimate += n
        }
        close()
        // Per-word counts can (rarely) undercount a joined window: such a window is cut by characters.
        var checked: [String] = []
        for w in out where !w.allSatisfy(\.isWhitespace) {
            if count(w) <= maxTokens { checked.append(w); continue }
            var chunk = ""
            for c in w {
                if count(chunk + String(c)) > maxTokens { checked.append(chunk); chunk = "" }
                chunk.append(c)
            }
            if !chunk.isEmpty { checked.append(chunk) }
        }
        return checked
    }
}
