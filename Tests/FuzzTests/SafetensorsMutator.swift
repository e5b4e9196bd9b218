import Foundation

/// Mutates valid safetensors files: the 8-byte header length, the JSON header's entries
/// (dtype, shape, data_offsets given extreme, negative, fractional or mistyped values; entries
/// deleted, repeated or given extra fields), the header's text (padding, invalid UTF-8, deep
/// nesting, truncation) and the data section (flipped, NaN-filled, truncated or extended).
enum SafetensorsMutator {
    /// The header (as JSON) and the data section of a safetensors file's bytes.
    static func split(_ bytes: [UInt8]) throws -> (header: FuzzJSON, data: [UInt8]) {
        let length = Int(bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        return (try FuzzJSON(parsing: Data(bytes[8..<(8 + length)])), Array(bytes[(8 + length)...]))
    }

    static func assemble(header: [UInt8], data: [UInt8], length: UInt64? = nil) -> [UInt8] {
        let n = length ?? UInt64(header.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + header + data
    }

    static let integers = ["0", "1", "2", "-1", "16.0", "2e0", "1e999", "-0", "4294967296", "9223372036854775807",
                           "9223372036854775808", "18446744073709551615", "18446744073709551616", "\"4\"", "null", "true", "[]"]
    static let dtypes = ["\"F32\"", "\"F16\"", "\"BF16\"", "\"F64\"", "\"I64\"", "\"I8\"", "\"U8\"", "\"BOOL\"", "\"F8_E4M3\"",
                         "\"F4\"", "\"f32\"", "\"\"", "\"F32 \"", "7", "null", "[\"F32\"]"]

    /// One mutation of the file `bytes` (a valid safetensors file), described.
    static func mutate(_ bytes: [UInt8], random: inout FuzzRandom) throws -> (bytes: [UInt8], what: String) {
        let (header, data) = try split(bytes)
        var entries = header.entries ?? []
        let tensorIndices = entries.indices.filter { entries[$0].key != "__metadata__" }
        switch random.int(0..<100) {
        case 0..<12:
            let real = UInt64(header.text.utf8.count)
            let length = random.pick([0, 1, 7, real - 1, real + 1, UInt64(bytes.count), UInt64(bytes.count - 8), 1 << 31,
                                      100_000_001, 1 << 63, UInt64.max])
            return (assemble(header: Array(header.text.utf8), data: data, length: length), "header length \(length) (real \(real))")
        case 12..<55:
            guard let t = tensorIndices.isEmpty ? nil : random.pick(tensorIndices), var fields = entries[t].value.entries else { break }
            let name = entries[t].key
            let f = random.int(0..<fields.count)
            let what: String
            switch fields[f].key {
            case "dtype":
                let dtype = random.pick(dtypes)
                fields[f].value = .raw(dtype); what = "\(name).dtype = \(dtype)"
            case "shape", "data_offsets":
                var items = fields[f].value.items ?? []
                switch random.int(0..<4) {
                case 0 where !items.isEmpty:
                    let i = random.int(0..<items.count), v = random.pick(integers)
                    items[i] = .raw(v); what = "\(name).\(fields[f].key)[\(i)] = \(v)"
                case 1: items.append(.raw(random.pick(["1", "0", "2"]))); what = "\(name).\(fields[f].key) gains an element"
                case 2 where !items.isEmpty: items.removeLast(); what = "\(name).\(fields[f].key) loses an element"
                default: items.reverse(); what = "\(name).\(fields[f].key) reversed"
                }
                fields[f].value = .array(items)
            default:
                fields[f].value = .raw(random.pick(integers)); what = "\(name).\(fields[f].key) replaced"
            }
            entries[t].value = .object(fields)
            return (assemble(header: Array(FuzzJSON.object(entries).text.utf8), data: data), what)
        case 55..<70:
            guard let t = tensorIndices.isEmpty ? nil : random.pick(tensorIndices) else { break }
            let name = entries[t].key
            let what: String
            switch random.int(0..<7) {
            case 0: entries.remove(at: t); what = "entry \(name) deleted"
            case 1: entries.append(entries[t]); what = "entry \(name) repeated (same key twice)"
            case 2:
                var fields = entries[t].value.entries ?? []
                fields.append(fields[random.int(0..<fields.count)]); entries[t].value = .object(fields)
                what = "a field of \(name) repeated"
            case 3:
                entries[t].value = .object((entries[t].value.entries ?? []) + [.init(key: "extra", value: .raw("[1,2]"))]); what = "\(name) gains an unknown field"
            case 4: entries[t].value = .raw(random.pick(["null", "[]", "\"x\"", "3"])); what = "\(name) is not an object"
            case 5:
                let metadata = random.pick(["{\"format\":\"pt\"}", "{\"k\":1}", "null", "[]", "{\"k\":{\"a\":\"b\"}}", "\"x\""])
                entries.insert(.init(key: "__metadata__", value: .raw(metadata)), at: 0); what = "__metadata__ = \(metadata)"
            default:
                entries[t].key = random.pick(["", "__metadata__", "a\u{0}b", String(repeating: "n", count: 3000), entries[(t + 1) % entries.count].key])
                what = "\(name) renamed"
            }
            return (assemble(header: Array(FuzzJSON.object(entries).text.utf8), data: data), what)
        case 70..<85:
            var text = Array(header.text.utf8)
            let what: String
            switch random.int(0..<7) {
            case 0: text = Array(random.pick([" ", "\n", "\t", "\r\n "]).utf8) + text; what = "whitespace before the header"
            case 1: text += Array(random.pick(["  ", "\n"]).utf8); what = "whitespace after the header"
            case 2: text += [0, 0, 0]; what = "NUL bytes after the header"
            case 3: text.removeSubrange(random.int(1..<text.count)...); what = "header text truncated"
            case 4: text.insert(random.pick([0xFF, 0xC0, 0x80]), at: random.int(1..<text.count)); what = "invalid UTF-8 in the header"
            case 5:
                let depth = random.pick([64, 200, 5000, 100_000])
                entries.insert(.init(key: "__metadata__", value: .raw(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))), at: 0)
                text = Array(FuzzJSON.object(entries).text.utf8); what = "__metadata__ nested \(depth) deep"
            default: text = Array(random.pick(["[]", "null", "\"x\"", "{", "", "{}"]).utf8); what = "header replaced"
            }
            return (assemble(header: text, data: data), what)
        default:
            var out = bytes
            let dataStart = bytes.count - data.count
            switch random.int(0..<4) {
            case 0 where !data.isEmpty:
                for _ in 0..<random.int(1..<8) { out[random.int(dataStart..<out.count)] ^= UInt8(1 << random.int(0..<8)) }
                return (out, "data bits flipped")
            case 1 where data.count >= 4:
                let pattern: [UInt8] = random.pick([[0, 0, 0xC0, 0x7F], [0, 0, 0x80, 0x7F], [0xFF, 0xFF, 0x7F, 0x7F]])
                for i in stride(from: dataStart, to: out.count - 3, by: 4) where random.chance(0.5) { out.replaceSubrange(i..<(i + 4), with: pattern) }
                return (out, "data filled with \(pattern) (NaN, ∞ or 3.4e38 as float32)")
            case 2: out.removeSubrange(random.int(0..<out.count)...); return (out, "file truncated")
            default: out += [UInt8](repeating: 0x41, count: random.int(1..<64)); return (out, "bytes appended")
            }
        }
        return (bytes, "unchanged")
    }

    /// Mutates one of the base or merged checkpoints and runs a checkpoint command on it.
    static func runCase(in folder: URL, random: inout FuzzRandom) throws -> [FuzzRunRecord] {
        let seed = random.pick([FuzzSeeds.peftBase, FuzzSeeds.peftLoRAMerged])
        let (bytes, what) = try mutate(Array(try Data(contentsOf: seed)), random: &random)
        let mutations = [seed.lastPathComponent, what]
        try Data(bytes).write(to: folder.appendingPathComponent("tuned.safetensors"))
        try FileManager.default.copyItem(at: FuzzSeeds.peftBase, to: folder.appendingPathComponent("base.safetensors"))
        let arguments = random.pick([
            ["spectrum", "--base", "base.safetensors", "--tuned", "tuned.safetensors"],
            ["nf4", "--checkpoint", "tuned.safetensors"],
            ["report", "--base", "base.safetensors", "--tuned", "tuned.safetensors", "--output", "out/report.html"],
        ])
        let outcome = try WorkbenchProcess.run(arguments, in: folder, timeLimit: 20, outputFolder: folder.appendingPathComponent("out"))
        return [FuzzRunRecord(mutation: mutations.joined(separator: "; "), arguments: arguments, outcome: outcome)]
    }
}
