import Foundation

/// Mutates valid study files the way a hostile or careless user would: values replaced by
/// extreme, mistyped or malformed ones, keys renamed, lines deleted, duplicated, swapped or
/// re-indented, bytes flipped, and the data files a study names damaged or replaced by a FIFO,
/// a device or a folder.
enum StudyFileMutator {
    /// The seeds: a toy study, a toy study with user data and more methods, and one on a tiny
    /// LLaMA GGUF with every method a LLaMA takes. Each runs in about a second.
    static let seeds: [String] = [
        """
        name: toy
        seeds: [0]
        model: {d_model: 16, n_layers: 1, n_heads: 2, d_ff: 32, context_length: 24}
        base:
          pretrain: {steps: 10, lr: 3.0e-3, batch: 8, warmup: 2}
          skills: [{kind: copy, max_length: 5}, {kind: facts, size: 16}]
        training: {steps: 6, lr: 1.0e-3, batch: 8}
        evaluation: {test_size: 16, batch: 16}
        tasks:
          - {name: rev, kind: reverse, max_length: 5}
          - {name: mod7, kind: modular_add, modulus: 7, max_operand: 20}
        methods:
          - {method: full, lr: 3.0e-4}
          - {method: lora, r: 2, lora_alpha: 4}
        output: results.h5

        """,
        """
        name: toy-data
        seeds: [0, 1]
        model: {d_model: 16, n_layers: 2, n_heads: 2, d_ff: 32, context_length: 40, vocab_size: 128}
        base:
          pretrain: {steps: 8, lr: 3.0e-3, batch: 4, warmup: 2, schedule: cosine}
          skills: [{kind: copy, max_length: 4}, {kind: sort_digits}]
        training: {steps: 4, lr: 1.0e-3, batch: 4, warmup: 1}
        evaluation: {test_size: 8, batch: 8}
        tasks:
          - {name: pairs, kind: jsonl, path: pairs.jsonl, test_percent: 30, map_unknown: true}
          - {name: prose, kind: text, path: text.txt, window: 16, test_percent: 20}
        methods:
          - {method: prompt, num_virtual_tokens: 4}
          - {method: prefix, num_virtual_tokens: 3, prefix_projection: true, encoder_hidden_size: 8}
          - {method: adapter, reduction_factor: 4}
          - {method: ia3}
          - {method: bitfit}
          - {method: dora, r: 2, lora_alpha: 2, layers_to_transform: [1]}
        store: {delta: dense, weights: every}
        output: results.h5

        """,
        """
        name: tiny-llama
        seeds: [0]
        model: {context_length: 48}
        base:
          checkpoint: tiny_llama.gguf
          skills:
            - {name: pairs, kind: jsonl, path: pairs.jsonl, test_percent: 50}
        training: {steps: 3, lr: 1.0e-3, batch: 2}
        evaluation: {test_size: 4, batch: 2}
        tasks:
          - {name: text, kind: text, path: text.txt, test_percent: 20}
          - {name: pairs, kind: jsonl, path: pairs.jsonl, test_percent: 30}
        methods:
          - {method: full, lr: 1.0e-4}
          - {method: lora, r: 2, lora_alpha: 4, target_modules: [q, v], use_rslora: true}
          - {method: qlora, r: 2, lora_alpha: 4, bnb_4bit_use_double_quant: true}
          - {method: dora, r: 2}
          - {method: prompt, num_virtual_tokens: 3, prompt_tuning_init: TEXT, prompt_tuning_init_text: hello}
          - {method: ia3}
          - {method: ln_tuning}
        store: {delta: factors, weights: final, spectrum_k: 4}
        output: results.h5

        """,
    ]

    static let pairs = ["hello", "abc", "one", "sun", "cat", "red", "up", "in", "left", "hot"]
        .enumerated().map { #"{"prompt": "\#($1)", "completion": " w\#($0)"}"# }.joined(separator: "\n") + "\n"
    static let prose = "hello hello world, the cat sat on the mat and the dog sat on the log.\nMore text to cut into windows here.\n"

    /// Values a user might type, or that break parsers and arithmetic.
    static let values = [
        "0", "-1", "1", "2", "3", "7", "64", "4096", "65536", "2147483647", "2147483648", "4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "100000000", "1e9", "1e12",
        "1e308", "1e309", "-1e-9", "0.5", "1.5", "8.5", "1e-30", ".nan", ".inf", "-.inf", "nan", "NaN", "''", "\"\"",
        "x", "null", "~", "[]", "{}", "[0]", "[[0]]", "[0, 0]", "[-1]", "true", "no", "0x10", "0o7", "1_000",
        "\"\\0\"", String(repeating: "a", count: 5000), "é🙂", "&a", "*a", "!!binary aGk=", "{", "[", "'", "\"",
        "full", "lora", "cosine", "RANDOM", "TEXT", "dense", "spectrum", "none", "every",
        "pairs.jsonl", "text.txt", "tiny_llama.gguf", "/dev/zero", "/dev/null", "/", ".", "pipe", "missing.jsonl",
        "results.h5", "/proc/self/mem", "../../../../etc/passwd",
    ]

    static let keys = [
        "name", "seeds", "model", "d_model", "n_layers", "n_heads", "d_ff", "context_length", "vocab_size", "base",
        "pretrain", "steps", "lr", "batch", "warmup", "schedule", "skills", "kind", "max_length", "size", "training",
        "evaluation", "test_size", "tasks", "methods", "method", "r", "lora_alpha", "num_virtual_tokens", "store",
        "delta", "weights", "output", "path", "checkpoint", "window", "test_percent", "target_modules", "modulus",
        "layers_to_transform", "unknown_key", "Steps", "lr ", "greedy", "bnb_4bit_quant_type", "spectrum_k",
    ]

    /// The spans of every scalar or flow value after a `key: ` in `text` (a flow list or map as a whole).
    static func valueSpans(in text: [UInt8]) -> [Range<Int>] {
        var spans: [Range<Int>] = []
        var i = 0
        while i + 1 < text.count {
            if text[i] == UInt8(ascii: ":"), text[i + 1] == UInt8(ascii: " ") {
                var start = i + 2
                while start < text.count, text[start] == UInt8(ascii: " ") { start += 1 }
                var end = start, depth = 0
                scan: while end < text.count {
                    switch text[end] {
                    case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
                    case UInt8(ascii: "]"), UInt8(ascii: "}"):
                        if depth == 0 { break scan }
                        depth -= 1
                    case UInt8(ascii: ","): if depth == 0 { break scan }
                    case UInt8(ascii: "\n"): break scan
                    default: break
                    }
                    end += 1
                }
                if end > start { spans.append(start..<end) }
            }
            i += 1
        }
        return spans
    }

    /// The spans of every key (the word before `: `).
    static func keySpans(in text: [UInt8]) -> [Range<Int>] {
        var spans: [Range<Int>] = []
        for i in 0..<max(0, text.count - 1) where text[i] == UInt8(ascii: ":") && text[i + 1] == UInt8(ascii: " ") {
            var start = i
            while start > 0, text[start - 1] == UInt8(ascii: "_") || (text[start - 1] >= 0x61 && text[start - 1] <= 0x7A) || (text[start - 1] >= 0x30 && text[start - 1] <= 0x39) { start -= 1 }
            if start < i { spans.append(start..<i) }
        }
        return spans
    }

    /// One mutation of `text`, described.
    static func mutate(_ text: inout [UInt8], random: inout FuzzRandom) -> String {
        switch random.int(0..<100) {
        case 0..<50:
            let spans = valueSpans(in: text)
            guard !spans.isEmpty else { return "no value to replace" }
            let span = random.pick(spans), value = random.pick(values)
            let old = String(decoding: text[span], as: UTF8.self)
            text.replaceSubrange(span, with: Array(value.utf8))
            return "value '\(old.prefix(40))' → '\(value.prefix(40))'"
        case 50..<60:
            let spans = keySpans(in: text)
            guard !spans.isEmpty else { return "no key to rename" }
            let span = random.pick(spans), key = random.pick(keys)
            let old = String(decoding: text[span], as: UTF8.self)
            text.replaceSubrange(span, with: Array(key.utf8))
            return "key '\(old)' → '\(key)'"
        case 60..<80:
            var lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
            let i = random.int(0..<lines.count), j = random.int(0..<lines.count)
            let what: String
            switch random.int(0..<5) {
            case 0: lines.remove(at: i); what = "deleted line \(i + 1)"
            case 1: lines.insert(lines[i], at: j); what = "line \(i + 1) copied before line \(j + 1)"
            case 2: lines.swapAt(i, j); what = "lines \(i + 1) and \(j + 1) swapped"
            case 3: lines[i] = Array("  ".utf8) + lines[i]; what = "line \(i + 1) indented"
            default: lines[i] = Array(lines[i].drop { $0 == UInt8(ascii: " ") }); what = "line \(i + 1) dedented"
            }
            text = Array(lines.joined(separator: [UInt8(ascii: "\n")]))
            return what
        default:
            guard !text.isEmpty else { return "empty text" }
            let at = random.int(0..<text.count)
            switch random.int(0..<5) {
            case 0: text[at] ^= UInt8(1 << random.int(0..<8)); return "bit flipped at byte \(at)"
            case 1: text.removeSubrange(at...); return "truncated at byte \(at)"
            case 2: let byte = random.pick([0x00, 0x09, 0x0D, 0xFF, 0xC3, 0x80, 0x22, 0x3A] as [UInt8]); text.insert(byte, at: at); return "byte \(byte) inserted at \(at)"
            case 3: text.remove(at: at); return "byte \(at) deleted"
            default: text.insert(contentsOf: Array("\t: [".utf8), at: at); return "'\\t: [' inserted at \(at)"
            }
        }
    }

    /// A damaged copy of one of the data files, or nothing.
    static func damageData(in folder: URL, random: inout FuzzRandom) throws -> String? {
        guard random.chance(0.2) else { return nil }
        let name = random.pick(["pairs.jsonl", "text.txt"])
        let url = folder.appendingPathComponent(name)
        var bytes = Array(try Data(contentsOf: url))
        let what: String
        switch random.int(0..<8) {
        case 0: bytes = []; what = "emptied"
        case 1: bytes.removeSubrange(random.int(0..<bytes.count)...); what = "truncated"
        case 2: bytes.insert(contentsOf: [0xFF, 0xFE, 0xC3], at: random.int(0..<bytes.count)); what = "invalid UTF-8 inserted"
        case 3: bytes += Array(#"{"prompt": "\#(String(repeating: "long ", count: 400))", "completion": " x"}"#.utf8) + [0x0A]; what = "a record far longer than the context appended"
        case 4: bytes += Array(#"{"prompt": 3, "completion": null}"#.utf8) + [0x0A]; what = "a mistyped record appended"
        case 5: bytes += Array("not json at all\n".utf8); what = "a non-JSON line appended"
        case 6: bytes = Array(repeating: 0, count: 64); what = "replaced by NUL bytes"
        default: bytes += Array(#"{"prompt": "a", "prompt": "b", "completion": ""}"#.utf8) + [0x0A]; what = "a record with a duplicate key and empty completion appended"
        }
        try Data(bytes).write(to: url)
        return "\(name) \(what)"
    }

    /// Writes a mutated study and its data files in `folder`; returns the run's record.
    static func runCase(in folder: URL, random: inout FuzzRandom) throws -> [FuzzRunRecord] {
        let seedIndex = random.int(0..<seeds.count)
        var text = Array(seeds[seedIndex].utf8)
        var mutations = ["seed \(seedIndex)"]
        for _ in 0..<random.pick([1, 1, 1, 2, 3]) { mutations.append(mutate(&text, random: &random)) }
        try Data(text).write(to: folder.appendingPathComponent("study.yaml"))
        try pairs.write(to: folder.appendingPathComponent("pairs.jsonl"), atomically: false, encoding: .utf8)
        try prose.write(to: folder.appendingPathComponent("text.txt"), atomically: false, encoding: .utf8)
        try FileManager.default.copyItem(at: FuzzSeeds.tinyLlamaGGUF, to: folder.appendingPathComponent("tiny_llama.gguf"))
        mkfifo(folder.appendingPathComponent("pipe").path, 0o644)
        if let damage = try damageData(in: folder, random: &random) { mutations.append(damage) }
        let output = folder.appendingPathComponent("out")
        let arguments = ["run", "study.yaml", "--output", "out/results.h5", "--max-memory", "1"]
        let outcome = try WorkbenchProcess.run(arguments, in: folder, timeLimit: 20, outputFolder: output)
        return [FuzzRunRecord(mutation: mutations.joined(separator: "; "), arguments: arguments, outcome: outcome)]
    }
}
