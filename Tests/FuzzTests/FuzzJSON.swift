import Foundation

/// A JSON document whose scalars are kept as the exact text to write, so that a mutator can put
/// `16.0`, `1e999` or `-0` where a reader expects an integer, and object keys can repeat.
enum FuzzJSON {
    struct Entry {
        var key: String
        var value: FuzzJSON
    }

    case raw(String)
    case array([FuzzJSON])
    case object([Entry])

    /// Parses valid JSON text, keeping each scalar's text and the keys' order.
    init(parsing data: Data) throws {
        var parser = Parser(bytes: Array(data))
        self = try parser.value()
    }

    static func string(_ text: String) -> FuzzJSON {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return .raw(out + "\"")
    }

    var text: String {
        switch self {
        case .raw(let text): return text
        case .array(let items): return "[" + items.map(\.text).joined(separator: ",") + "]"
        case .object(let entries): return "{" + entries.map { FuzzJSON.string($0.key).text + ":" + $0.value.text }.joined(separator: ",") + "}"
        }
    }

    var entries: [Entry]? { if case .object(let e) = self { return e } else { return nil } }
    var items: [FuzzJSON]? { if case .array(let a) = self { return a } else { return nil } }

    /// Recursive descent over well-formed JSON (the seeds); no validation beyond what it needs.
    private struct Parser {
        let bytes: [UInt8]
        var at = 0

        mutating func skipSpace() { while at < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[at]) { at += 1 } }

        mutating func value() throws -> FuzzJSON {
            skipSpace()
            guard at < bytes.count else { throw FuzzHarnessError("seed JSON ends early") }
            switch bytes[at] {
            case UInt8(ascii: "{"):
                at += 1
                var entries: [Entry] = []
                skipSpace()
                if bytes[at] == UInt8(ascii: "}") { at += 1; return .object(entries) }
                while true {
                    skipSpace()
                    guard case .raw(let keyText) = try value(), let key = try? JSONSerialization.jsonObject(with: Data(keyText.utf8), options: [.fragmentsAllowed]) as? String else {
                        throw FuzzHarnessError("seed JSON: object key is not a string")
                    }
                    skipSpace(); at += 1 // ':'
                    entries.append(Entry(key: key, value: try value()))
                    skipSpace()
                    let c = bytes[at]; at += 1
                    if c == UInt8(ascii: "}") { return .object(entries) }
                }
            case UInt8(ascii: "["):
                at += 1
                var items: [FuzzJSON] = []
                skipSpace()
                if bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
                while true {
                    items.append(try value())
                    skipSpace()
                    let c = bytes[at]; at += 1
                    if c == UInt8(ascii: "]") { return .array(items) }
                }
            case UInt8(ascii: "\""):
                let start = at
                at += 1
                while bytes[at] != UInt8(ascii: "\"") { at += bytes[at] == UInt8(ascii: "\\") ? 2 : 1 }
                at += 1
                return .raw(String(decoding: bytes[start..<at], as: UTF8.self))
            default:
                let start = at
                while at < bytes.count, !",]} \n\r\t".utf8.contains(bytes[at]) { at += 1 }
                return .raw(String(decoding: bytes[start..<at], as: UTF8.self))
            }
        }
    }
}
