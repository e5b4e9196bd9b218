import Foundation

/// Mutates a valid GGUF file field by field: every count, string length, value type, metadata
/// value, tensor dimension, tensor type and data offset of the header is located first, then one
/// is given an extreme value of its width; or string bytes are made invalid UTF-8, or the data
/// section is flipped, truncated or extended.
enum GGUFMutator {
    /// A field of the header: where it is, how wide (bytes), and what it holds.
    struct Field {
        enum Role: String { case count, stringLength, valueType, value, dimension, tensorType, dataOffset, version }
        let offset: Int
        let width: Int
        let role: Role
        let name: String
    }

    /// The header's fields, and where the tensor infos end.
    static func fields(of bytes: [UInt8]) -> (fields: [Field], headerEnd: Int) {
        var fields: [Field] = []
        var at = 0
        func read(_ width: Int) -> UInt64 {
            var v: UInt64 = 0
            for i in 0..<width { v |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
            at += width
            return v
        }
        func field(_ width: Int, _ role: Field.Role, _ name: String) -> UInt64 {
            fields.append(Field(offset: at, width: width, role: role, name: name))
            return read(width)
        }
        func string(_ name: String) -> String {
            let n = Int(field(8, .stringLength, name))
            defer { at += n }
            return String(decoding: bytes[at..<(at + n)], as: UTF8.self)
        }
        func value(type: UInt64, _ name: String) {
            switch type {
            case 0, 1, 7: _ = field(1, .value, name)
            case 2, 3: _ = field(2, .value, name)
            case 4, 5, 6: _ = field(4, .value, name)
            case 10, 11, 12: _ = field(8, .value, name)
            case 8: _ = string(name)
            case 9:
                let itemType = field(4, .valueType, name + "[]")
                let count = Int(field(8, .count, name + ".count"))
                for i in 0..<count { value(type: itemType, "\(name)[\(i)]") }
            default: break
            }
        }
        at = 4
        _ = field(4, .version, "version")
        let tensorCount = Int(field(8, .count, "tensor_count"))
        let kvCount = Int(field(8, .count, "kv_count"))
        for _ in 0..<kvCount {
            let key = string("key")
            let type = field(4, .valueType, key + ".type")
            value(type: type, key)
        }
        for _ in 0..<tensorCount {
            let name = string("tensor name")
            let dims = Int(field(4, .count, name + ".n_dims"))
            for d in 0..<dims { _ = field(8, .dimension, "\(name).dims[\(d)]") }
            _ = field(4, .tensorType, name + ".type")
            _ = field(8, .dataOffset, name + ".offset")
        }
        return (fields, at)
    }

    static func write(_ value: UInt64, into bytes: inout [UInt8], at field: Field) {
        for i in 0..<field.width { bytes[field.offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    /// One mutation of `bytes`, described.
    static func mutate(_ bytes: [UInt8], random: inout FuzzRandom) -> (bytes: [UInt8], what: String) {
        var out = bytes
        let (fields, headerEnd) = fields(of: bytes)
        switch random.int(0..<100) {
        case 0..<65:
            // Prefer the fields a reader sizes allocations and loops by.
            let field = random.chance(0.6)
                ? random.pick(fields.filter { $0.role != .value || $0.name.hasPrefix("llama.") })
                : random.pick(fields)
            let bits = UInt64(field.width * 8)
            let max = bits == 64 ? UInt64.max : (1 << bits) - 1
            var old: UInt64 = 0
            for i in 0..<field.width { old |= UInt64(bytes[field.offset + i]) << (8 * UInt64(i)) }
            let value = random.pick([0, 1, 2, 3, old &+ 1, old &- 1, old &* 2, old &* 1000, max, max >> 1, (max >> 1) &+ 1,
                                     min(max, 1 << 31), min(max, 1 << 32), min(max, 100_000_000), 13, 31, 255] as [UInt64])
            write(value & max, into: &out, at: field)
            return (out, "\(field.name) (\(field.role.rawValue), \(field.width) bytes) \(old) → \(value & max)")
        case 65..<75:
            let strings = fields.filter { $0.role == .stringLength }
            let field = random.pick(strings)
            let at = field.offset + 8
            guard at < headerEnd else { return (out, "unchanged") }
            out[at] = random.pick([0xFF, 0xC0, 0x80, 0x00])
            return (out, "first byte of string \(field.name) at \(at) made \(out[at])")
        case 75..<85:
            let cut = random.pick([4, 8, 16, 24, headerEnd / 2, headerEnd - 1, headerEnd, headerEnd + 7, (headerEnd + bytes.count) / 2, bytes.count - 1])
            out.removeSubrange(min(cut, out.count)...)
            return (out, "truncated to \(out.count) bytes (header ends at \(headerEnd))")
        case 85..<93:
            for _ in 0..<random.int(1..<16) { out[random.int(headerEnd..<out.count)] ^= UInt8(1 << random.int(0..<8)) }
            return (out, "bits flipped in the data section")
        default:
            for _ in 0..<random.int(1..<4) { out[random.int(0..<headerEnd)] ^= UInt8(1 << random.int(0..<8)) }
            return (out, "bits flipped in the header")
        }
    }

    static let study = """
        name: gguf-base
        model: {context_length: 24}
        base:
          checkpoint: model.gguf
          skills: [{name: pairs, kind: jsonl, path: pairs.jsonl, test_percent: 50}]
        training: {steps: 2, lr: 1.0e-3, batch: 2}
        evaluation: {test_size: 2, batch: 2}
        tasks: [{name: pairs, kind: jsonl, path: pairs.jsonl, test_percent: 50}]
        methods: [{method: lora, r: 2}]
        output: results.h5

        """

    /// Mutates the tiny LLaMA GGUF and loads it: tokenizer, greedy generation, or a study base.
    static func runCase(in folder: URL, random: inout FuzzRandom) throws -> [FuzzRunRecord] {
        let (bytes, what) = mutate(Array(try Data(contentsOf: FuzzSeeds.tinyLlamaGGUF)), random: &random)
        try Data(bytes).write(to: folder.appendingPathComponent("model.gguf"))
        try StudyFileMutator.pairs.write(to: folder.appendingPathComponent("pairs.jsonl"), atomically: false, encoding: .utf8)
        try study.write(to: folder.appendingPathComponent("study.yaml"), atomically: false, encoding: .utf8)
        let arguments = random.pick([
            ["tokenize", "--model", "model.gguf", "--text", "hello world"],
            ["generate", "--model", "model.gguf", "--prompt", "hello", "--max-new-tokens", "3"],
            ["generate", "--model", "model.gguf", "--prompt", "hi", "--chat", "--max-new-tokens", "2"],
            ["run", "study.yaml", "--output", "out/results.h5", "--max-memory", "1"],
        ])
        let outcome = try WorkbenchProcess.run(arguments, in: folder, timeLimit: 20, outputFolder: folder.appendingPathComponent("out"))
        return [FuzzRunRecord(mutation: what, arguments: arguments, outcome: outcome)]
    }
}
