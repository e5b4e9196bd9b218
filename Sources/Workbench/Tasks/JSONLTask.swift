import Foundation

/// User data: a JSON Lines file of {"prompt": …, "completion": …} records (extra keys are
/// ignored, blank lines skipped). Each record is one example, prompt → completion.
///
/// Loading validates every line and throws a `TaskDataError` naming the file and line for
/// invalid JSON, a line that is not an object, a missing key or a value that is not a string;
/// a character outside the vocabulary is reported with its line, field and column (1-based
/// position within the field's value) unless `mapUnknown` is true, in which case the batcher
/// encodes such characters as the unknown token. Train/test assignment is by `RecordSplit`
/// (hash of `Example.splitKey`: the prompt, or the completion when the prompt is empty; `testPercent` of the records in expectation); the test split is the
/// test records in file order, and `testSize` is their number.
public struct JSONLTask: Task {
    public let file: String
    public let mapUnknown: Bool
    public let testPercent: Double
    public let trainRecords: [Example]
    public var trainingRecords: [Example]? { trainRecords }
    public let testRecords: [Example]
    public var kind: String { "jsonl" }
    public var name: String { "jsonl(\((file as NSString).lastPathComponent))" }
    public var testSize: Int { testRecords.count }
    public var mapsUnknownCharacters: Bool { mapUnknown }

    public init(file: String, mapUnknown: Bool = false, testPercent: Double = 10) throws {
        guard testPercent > 0 && testPercent < 100 else {
            throw TaskDataError(file: file, reason: "test_percent \(testPercent) must be in (0, 100)")
        }
        self.file = file
        self.mapUnknown = mapUnknown
        self.testPercent = testPercent
        let text = try UserText.read(file)
        let vocabulary = Vocabulary()
        var train: [Example] = [], test: [Example] = []
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let raw = line.hasSuffix("\r") ? line.dropLast() : line
            if raw.allSatisfy(\.isWhitespace) { continue }
            func fail(_ reason: String, column: Int? = nil) -> TaskDataError {
                TaskDataError(file: file, line: lineNumber, column: column, reason: reason)
            }
            let record: [String: JSONValue]
            do {
                let value = try JSONDecoder().decode(JSONValue.self, from: Data(raw.utf8))
                guard case .object(let fields) = value else {
                    throw fail("expected a JSON object with \"prompt\" and \"completion\", got \(value.typeName)")
                }
                record = fields
            } catch let error as DecodingError {
                throw fail("invalid JSON (\(UserText.reason(error)))")
            }
            var fields: [String] = []
            for key in ["prompt", "completion"] {
                guard let value = record[key] else { throw fail("missing key \"\(key)\"") }
                guard case .string(let string) = value else {
                    throw fail("\"\(key)\" must be a string, got \(value.typeName)")
                }
                if !mapUnknown {
                    do { _ = try vocabulary.encode(string) } catch let e as VocabularyError {
                        throw fail("\"\(key)\": character \(e.character.debugDescription) is not in the vocabulary (printable ASCII; set map_unknown to map it to the unknown token)",
                                   column: e.position + 1)
                    }
                }
                fields.append(string)
            }
            let example = Example(prompt: fields[0], answer: fields[1])
            if RecordSplit.isTest(example.splitKey, testPercent: testPercent) { test.append(example) } else { train.append(example) }
        }
        guard !train.isEmpty else { throw TaskDataError(file: file, reason: "no records in the train split (\(test.count) records, test_percent \(testPercent))") }
        guard !test.isEmpty else { throw TaskDataError(file: file, reason: "no records in the test split (\(train.count) records, test_percent \(testPercent)); add records or raise test_percent") }
        trainRecords = train
        testRecords = test
    }

    public func examples(split: TaskSplit, count: Int, seed: UInt64) -> [Example] {
        RecordSplit.examples(split, train: trainRecords, test: testRecords, count: count, seed: seed, taskName: name)
    }
}

/// Reading user files as UTF-8 text with errors that name the file.
enum UserText {
    static func read(_ file: String) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
            throw TaskDataError(file: file, reason: "cannot read file (\(error.localizedDescription))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TaskDataError(file: file, reason: "not valid UTF-8")
        }
        return text
    }

    static func reason(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let c), .typeMismatch(_, let c), .valueNotFound(_, let c), .keyNotFound(_, let c):
            let underlying = (c.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? c.debugDescription
        @unknown default:
            return "\(error)"
        }
    }
}

/// Any JSON value, decoded with `JSONDecoder` (portable across Foundation implementations).
enum JSONValue: Decodable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
