import Foundation

/// Builds tasks from a kind name and parameters (the study file's `tasks:` entries).
///
/// Kinds and their parameters (defaults in parentheses; seeds are non-negative integers):
///
/// | kind | parameters |
/// |---|---|
/// | copy, reverse | min_length (1), max_length (8), test_size (200) |
/// | sort_digits | min_length (2), max_length (8), test_size (200) |
/// | addition | max_digits (3), test_size (200) |
/// | modular_add | modulus (required), max_operand (99), test_size (200) |
/// | grammar_lm | test_size (200) |
/// | facts | table_seed (1), key_prefix ("k"), size (64), value_length (3) |
/// | conflicting_facts | value_seed (required, ≠ table_seed), table_seed (1), key_prefix ("k"), size (64), value_length (3): the base table's keys, every value changed |
/// | cipher | base (required kind name), cipher_seed (1), plus the base kind's parameters |
/// | base_skills | table_seed (1), test_size (200): mixture of copy, sort_digits, addition, facts, grammar_lm |
/// | mixture | kinds (required list of kind names, each with its defaults) |
/// | jsonl | path (required), map_unknown (false), test_percent (10) |
/// | text | path (required), window (32), map_unknown (false), test_percent (10) |
/// | corpus | text (required: shakespeare, milton, bible-web, human-eval (code)), files (all), window_tokens (128), test_percent (10), max_windows (none) |
/// | knowledge_probe | categories (capitals, elements, opposites, arithmetic), part (all), edit_seed (1), edit_count (24) |
/// | counterfactual_capitals | edit_seed (1), count (24) |
///
/// `corpus` fetches its text (`KnownText`) on first use and windows it by the tokenizer's
/// tokens. With a pretrained model's byte-level tokenizer every character encodes, so `jsonl`
/// and `text` skip the character-vocabulary check (`map_unknown` is then moot).
///
/// A NEW fact table is `facts` with another `key_prefix` (e.g. "n"): no key is shared with the
/// base table "k". Unknown kinds and parameters, wrong types and out-of-range values throw
/// `TaskCatalogError`; unreadable or malformed data files throw `TaskDataError`.
public enum TaskCatalog {
    /// Every kind `make` accepts, with its parameter names.
    public static let parameterNames: [String: [String]] = [
        "copy": ["min_length", "max_length", "test_size"],
        "reverse": ["min_length", "max_length", "test_size"],
        "sort_digits": ["min_length", "max_length", "test_size"],
        "addition": ["max_digits", "test_size"],
        "modular_add": ["modulus", "max_operand", "test_size"],
        "grammar_lm": ["test_size"],
        "facts": ["table_seed", "key_prefix", "size", "value_length"],
        "conflicting_facts": ["value_seed", "table_seed", "key_prefix", "size", "value_length"],
        "cipher": ["base", "cipher_seed"],
        "base_skills": ["table_seed", "test_size"],
        "mixture": ["kinds"],
        "jsonl": ["path", "map_unknown", "test_percent"],
        "text": ["path", "window", "map_unknown", "test_percent"],
        "corpus": ["text", "files", "window_tokens", "test_percent", "max_windows"],
        "knowledge_probe": ["categories", "part", "edit_seed", "edit_count"],
        "counterfactual_capitals": ["edit_seed", "count"],
    ]

    public static var kinds: [String] { parameterNames.keys.sorted() }

    /// Builds the task `kind` from `parameters`; relative `path`s are used as given (relative
    /// to the current directory).
    public static func make(kind: String, parameters: [String: TaskParameter]) throws -> any Task {
        try make(kind: kind, parameters: parameters, relativeTo: nil)
    }

    /// Builds the task `kind`; a relative `path` parameter is resolved against `baseDirectory`
    /// (the study file's folder) when given.
    public static func make(kind: String, parameters: [String: TaskParameter], relativeTo baseDirectory: String?,
                            tokenizer: any TaskTokenizer = Vocabulary(), log: (String) -> Void = { _ in }) throws -> any Task {
        let checkCharacters = tokenizer is Vocabulary
        guard var allowed = parameterNames[kind] else {
            throw TaskCatalogError.unknownKind(kind: kind, known: kinds)
        }
        if kind == "cipher" {
            return try cipher(parameters, relativeTo: baseDirectory, tokenizer: tokenizer)
        }
        allowed = allowed.sorted()
        let p = try ParameterReader(kind: kind, parameters: parameters, allowed: allowed)
        let task: any Task
        switch kind {
        case "copy": task = CopyTask(lengths: try lengths(p, min: 1), testSize: try testSize(p))
        case "reverse": task = ReverseTask(lengths: try lengths(p, min: 1), testSize: try testSize(p))
        case "sort_digits": task = SortDigitsTask(lengths: try lengths(p, min: 2), testSize: try testSize(p))
        case "addition":
            task = AdditionTask(maxDigits: try p.int("max_digits", default: 3, range: 1...9), testSize: try testSize(p))
        case "modular_add":
            task = ModularAdditionTask(modulus: try p.int("modulus", range: 1...1_000_000),
                                       maxOperand: try p.int("max_operand", default: 99, range: 0...1_000_000),
                                       testSize: try testSize(p))
        case "grammar_lm": task = GrammarTask(testSize: try testSize(p))
        case "facts": task = FactTask(table: try table(p), kind: kind)
        case "conflicting_facts":
            let base = try table(p)
            let valueSeed = try p.seed("value_seed")
            guard valueSeed != base.valueSeed else {
                throw TaskCatalogError.invalidValue(kind: kind, parameter: "value_seed", reason: "must differ from table_seed (\(valueSeed))")
            }
            task = FactTask(table: .conflicting(with: base, valueSeed: valueSeed), kind: kind)
        case "base_skills":
            let seed = try p.seed("table_seed", default: 1), size = try testSize(p)
            task = MixtureTask(components: baseSkills(tableSeed: seed, testSize: size))
        case "mixture":
            let names = try p.strings("kinds")
            guard !names.isEmpty else { throw TaskCatalogError.invalidValue(kind: kind, parameter: "kinds", reason: "must list at least one kind") }
            task = MixtureTask(components: try names.map { try make(kind: $0, parameters: [:], relativeTo: baseDirectory, tokenizer: tokenizer) })
        case "jsonl":
            task = try JSONLTask(file: try path(p, relativeTo: baseDirectory), mapUnknown: try p.bool("map_unknown", default: false) || !checkCharacters,
                                 testPercent: try percent(p))
        case "text":
            task = try TextTask(file: try path(p, relativeTo: baseDirectory), window: try p.int("window", default: 32, range: 2...4096),
                                mapUnknown: try p.bool("map_unknown", default: false) || !checkCharacters, testPercent: try percent(p),
                                normalisesWhitespace: checkCharacters)
        case "corpus":
            let textName = try p.string("text")
            guard let known = KnownText.named(textName) else {
                throw TaskCatalogError.invalidValue(kind: kind, parameter: "text",
                                                    reason: "unknown text \"\(textName)\"; known: \(KnownText.all.map(\.name).joined(separator: ", "))")
            }
            let files = parameters["files"] == nil ? nil : try p.strings("files")
            let maxWindows = parameters["max_windows"] == nil ? nil : try p.int("max_windows", range: 2...10_000_000)
            let texts: [(name: String, text: String)]
            do { texts = try known.load(log: log) } catch {
                throw TaskDataError(file: "\(known.name) (\(known.files[0].package)==\(known.files[0].version))", reason: "\(error)")
            }
            task = try CorpusTask(textName: textName, texts: texts, files: files,
                                  windowTokens: try p.int("window_tokens", default: 128, range: 2...65_536),
                                  testPercent: try percent(p), maxWindows: maxWindows, tokenizer: tokenizer)
        case "knowledge_probe":
            let categories = parameters["categories"] == nil ? KnowledgeProbeTask.categories : try p.strings("categories")
            for c in categories where !KnowledgeProbeTask.categories.contains(c) {
                throw TaskCatalogError.invalidValue(kind: kind, parameter: "categories",
                                                    reason: "unknown category \"\(c)\"; known: \(KnowledgeProbeTask.categories.joined(separator: ", "))")
            }
            guard !categories.isEmpty else { throw TaskCatalogError.invalidValue(kind: kind, parameter: "categories", reason: "must list at least one category") }
            let partName = try p.string("part", default: "all")
            guard let part = KnowledgeProbeTask.Part(rawValue: partName) else {
                throw TaskCatalogError.invalidValue(kind: kind, parameter: "part",
                                                    reason: "must be one of \(KnowledgeProbeTask.Part.allCases.map(\.rawValue).joined(separator: ", ")), got \(partName)")
            }
            task = KnowledgeProbeTask(categories: categories, part: part, editSeed: try p.seed("edit_seed", default: 1),
                                      editCount: try p.int("edit_count", default: 24, range: 2...ProbeFacts.capitals.count))
            guard task.testSize > 0 else {
                throw TaskCatalogError.invalidValue(kind: kind, parameter: "part", reason: "selects no item (part edited with no capitals category)")
            }
        case "counterfactual_capitals":
            task = CounterfactualCapitalsTask(editSeed: try p.seed("edit_seed", default: 1),
                                              count: try p.int("count", default: 24, range: 2...ProbeFacts.capitals.count))
        default:
            preconditionFailure("catalog bug: kind \(kind) listed without a builder")
        }
        if let generated = task as? any GeneratedTask, Double(generated.testSize) * 2 > generated.promptSpace {
            throw TaskCatalogError.invalidValue(kind: kind, parameter: "test_size",
                                                reason: "\(generated.testSize) is more than half of the \(Int(generated.promptSpace)) distinct prompts")
        }
        return task
    }

    /// The pretraining mixture's components: copy, sort_digits, addition (3 digits), the fact
    /// table "k"×64 with `tableSeed`, and grammar_lm.
    public static func baseSkills(tableSeed: UInt64 = 1, testSize: Int = TaskDefaults.testSize) -> [any Task] {
        [CopyTask(testSize: testSize), SortDigitsTask(testSize: testSize), AdditionTask(testSize: testSize),
         FactTask(table: FactTable(valueSeed: tableSeed)), GrammarTask(testSize: testSize)]
    }

    // MARK: Parameter groups

    static func testSize(_ p: ParameterReader) throws -> Int {
        try p.int("test_size", default: TaskDefaults.testSize, range: 1...1_000_000)
    }

    static func lengths(_ p: ParameterReader, min low: Int) throws -> ClosedRange<Int> {
        let a = try p.int("min_length", default: low, range: 1...40)
        let b = try p.int("max_length", default: 8, range: 1...40)
        guard a <= b else { throw TaskCatalogError.invalidValue(kind: p.kind, parameter: "max_length", reason: "(\(b)) must be ≥ min_length (\(a))") }
        return a...b
    }

    static func table(_ p: ParameterReader) throws -> FactTable {
        let prefix = try p.string("key_prefix", default: "k")
        guard !prefix.isEmpty, Vocabulary().covers(prefix), !prefix.contains("=") else {
            throw TaskCatalogError.invalidValue(kind: p.kind, parameter: "key_prefix", reason: "must be non-empty printable ASCII without '=', got \(prefix.debugDescription)")
        }
        let valueLength = try p.int("value_length", default: 3, range: 1...12)
        let size = try p.int("size", default: 64, range: 1...100_000)
        guard Double(size) * 2 <= pow(26, Double(valueLength)) else {
            throw TaskCatalogError.invalidValue(kind: p.kind, parameter: "size", reason: "\(size) needs longer values than value_length \(valueLength)")
        }
        return FactTable(keyPrefix: prefix, size: size, valueSeed: try p.seed("table_seed", default: 1), valueLength: valueLength)
    }

    static func percent(_ p: ParameterReader) throws -> Double {
        let v = try p.double("test_percent", default: 10)
        guard v > 0 && v < 100 else { throw TaskCatalogError.invalidValue(kind: p.kind, parameter: "test_percent", reason: "must be in (0, 100), got \(v)") }
        return v
    }

    static func path(_ p: ParameterReader, relativeTo baseDirectory: String?) throws -> String {
        let path = try p.string("path")
        guard let baseDirectory, !path.hasPrefix("/") else { return path }
        return URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).path
    }

    /// `cipher`: reads `base` and `cipher_seed`, passes every other parameter to the base kind.
    static func cipher(_ parameters: [String: TaskParameter], relativeTo baseDirectory: String?,
                       tokenizer: any TaskTokenizer) throws -> any Task {
        var rest = parameters
        let own = ["base", "cipher_seed"]
        rest["base"] = nil
        rest["cipher_seed"] = nil
        let p = try ParameterReader(kind: "cipher", parameters: parameters.filter { own.contains($0.key) }, allowed: own)
        let baseKind = try p.string("base")
        guard baseKind != "cipher" else { throw TaskCatalogError.invalidValue(kind: "cipher", parameter: "base", reason: "cannot be cipher itself") }
        let base = try make(kind: baseKind, parameters: rest, relativeTo: baseDirectory, tokenizer: tokenizer)
        return CipherTask(base: base, cipherSeed: try p.seed("cipher_seed", default: 1))
    }
}
