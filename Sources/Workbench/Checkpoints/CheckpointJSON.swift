import Foundation

/// A JSON document as a tree, with integers kept apart from other numbers.
///
/// The checkpoint readers validate JSON written by other tools (safetensors headers, shard
/// indexes, adapter_config.json) field by field so that each error can name the key; decoding
/// into this tree first keeps `true`, `1` and `1.5` distinct, which `JSONSerialization`'s
/// `NSNumber` bridging does not do reliably across platforms.
enum CheckpointJSON: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([CheckpointJSON])
    case object([String: CheckpointJSON])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([CheckpointJSON].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: CheckpointJSON].self))
        }
    }

    /// Parses `data`; the error's description is the decoder's.
    static func parse(_ data: Data) throws -> CheckpointJSON {
        try JSONDecoder().decode(CheckpointJSON.self, from: data)
    }

    var objectValue: [String: CheckpointJSON]? { if case .object(let v) = self { return v } else { return nil } }
    var arrayValue: [CheckpointJSON]? { if case .array(let v) = self { return v } else { return nil } }
    var stringValue: String? { if case .string(let v) = self { return v } else { return nil } }
    var boolValue: Bool? { if case .bool(let v) = self { return v } else { return nil } }
    var integerValue: Int? { if case .integer(let v) = self { return v } else { return nil } }
    /// An integer or a floating-point number as Double.
    var doubleValue: Double? {
        switch self {
        case .integer(let v): return Double(v)
        case .number(let v): return v
        default: return nil
        }
    }

    /// A short description of the value's JSON type, for error messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer: return "an integer"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// The first key that occurs twice in the top-level object of `data` (JSON text), or nil.
    /// Decoders silently keep one of the two values; a configuration must not depend on which.
    static func duplicateTopLevelKey(in data: Data) -> String? {
        let bytes = [UInt8](data)
        var depth = 0, i = 0
        var seen = Set<String>()
        var expectingKey = false
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                expectingKey = c == UInt8(ascii: "{") && depth == 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                if depth == 1 { expectingKey = true }
            case UInt8(ascii: "\""):
                var j = i + 1
                var raw: [UInt8] = []
                while j < bytes.count && bytes[j] != UInt8(ascii: "\"") {
                    if bytes[j] == UInt8(ascii: "\\") && j + 1 < bytes.count { raw.append(bytes[j]); j += 1 }
                    raw.append(bytes[j])
                    j += 1
                }
                if depth == 1 && expectingKey {
                    let key = String(decoding: raw, as: UTF8.self)
                    if !seen.insert(key).inserted { return key }
                    expectingKey = false
                }
                i = j
            default:
                break
            }
            i += 1
        }
        return nil
    }
}
