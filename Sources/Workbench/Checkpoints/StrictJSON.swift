import Foundation

/// JSON read with serde_json's rules, the reader behind the safetensors reference
/// implementation, so that a header is accepted exactly when safetensors accepts it.
///
/// What differs from Foundation's decoders: integers stay apart from floats by how they are
/// written (`16.0`, `2e0` and `-0` are floats; an integer above 2⁶⁴ − 1 too); a float that
/// overflows Float64 (`1e999`) is an error; only space, tab, LF and CR are white space (no
/// byte-order mark, no form feed); strings refuse raw control characters and lone UTF-16
/// surrogates; nesting is limited to 127 arrays and objects; nothing but white space may follow
/// the value. Objects keep every entry in order, repeated keys included, for the caller to judge.
enum StrictJSON: Equatable {
    case null
    case bool(Bool)
    /// An integer written without fraction or exponent that fits UInt64.
    case unsigned(UInt64)
    /// Any other number: negative, fractional, with an exponent, or above UInt64.
    case float(Double)
    case string(String)
    case array([StrictJSON])
    case object([Entry])

    struct Entry: Equatable {
        let key: String
        let value: StrictJSON
    }

    /// A syntax error at a 1-based line and column (in bytes), as serde_json reports them.
    struct SyntaxError: Error, CustomStringConvertible {
        let message: String
        let line: Int
        let column: Int
        var description: String { "\(message) at line \(line) column \(column)" }
    }

    /// serde_json's recursion limit: at most this many arrays and objects open at once.
    static let depthLimit = 127

    /// Parses `bytes` (UTF-8, already validated) as one JSON value.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws -> StrictJSON {
        var reader = Reader(bytes: bytes)
        reader.skipSpace()
        let value = try reader.value(depth: 0)
        reader.skipSpace()
        guard reader.at == bytes.count else { throw reader.failure("trailing characters") }
        return value
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .unsigned: "an integer"
        case .float: "a number that is not a non-negative integer"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var at = 0

        func failure(_ message: String) -> SyntaxError {
            var line = 1, column = 1
            for i in 0..<min(at, bytes.count) {
                if bytes[i] == 0x0A { line += 1; column = 1 } else { column += 1 }
            }
            return SyntaxError(message: message, line: line, column: column)
        }

        var current: UInt8? { at < bytes.count ? bytes[at] : nil }

        mutating func skipSpace() {
            while let c = current, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { at += 1 }
        }

        mutating func expect(_ c: UInt8, _ what: String) throws {
            skipSpace()
            guard current == c else { throw failure(current == nil ? "EOF while parsing \(what)" : "expected \(what)") }
            at += 1
        }

        mutating func value(depth: Int) throws -> StrictJSON {
            skipSpace()
            guard let c = current else { throw failure("EOF while parsing a value") }
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard depth < StrictJSON.depthLimit else { throw failure("recursion limit exceeded") }
                at += 1
                return c == UInt8(ascii: "{") ? try object(depth: depth + 1) : try array(depth: depth + 1)
            case UInt8(ascii: "\""):
                return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return try number()
            default:
                throw failure("expected value")
            }
        }

        mutating func literal(_ word: String) throws {
            for expected in word.utf8 {
                guard current == expected else { throw failure(current == nil ? "EOF while parsing a value" : "expected ident") }
                at += 1
            }
        }

        mutating func array(depth: Int) throws -> StrictJSON {
            var items: [StrictJSON] = []
            skipSpace()
            if current == UInt8(ascii: "]") { at += 1; return .array(items) }
            while true {
                items.append(try value(depth: depth))
                skipSpace()
                guard let c = current else { throw failure("EOF while parsing a list") }
                at += 1
                if c == UInt8(ascii: "]") { return .array(items) }
                guard c == UInt8(ascii: ",") else { at -= 1; throw failure("expected `,` or `]`") }
                skipSpace()
                if current == UInt8(ascii: "]") { throw failure("trailing comma") }
            }
        }

        mutating func object(depth: Int) throws -> StrictJSON {
            var entries: [Entry] = []
            skipSpace()
            if current == UInt8(ascii: "}") { at += 1; return .object(entries) }
            while true {
                skipSpace()
                guard current == UInt8(ascii: "\"") else { throw failure(current == nil ? "EOF while parsing an object" : "key must be a string") }
                let key = try string()
                try expect(UInt8(ascii: ":"), "`:`")
                entries.append(Entry(key: key, value: try value(depth: depth)))
                skipSpace()
                guard let c = current else { throw failure("EOF while parsing an object") }
                at += 1
                if c == UInt8(ascii: "}") { return .object(entries) }
                guard c == UInt8(ascii: ",") else { at -= 1; throw failure("expected `,` or `}`") }
                skipSpace()
                if current == UInt8(ascii: "}") { throw failure("trailing comma") }
            }
        }

        mutating func hex4() throws -> UInt32 {
            var v: UInt32 = 0
            for _ in 0..<4 {
                guard let c = current else { throw failure("EOF while parsing a string") }
                let digit: UInt32
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(c - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(c - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(c - UInt8(ascii: "A") + 10)
                default: throw failure("invalid escape")
                }
                v = v << 4 | digit
                at += 1
            }
            return v
        }

        mutating func string() throws -> String {
            at += 1  // the opening quote
            var out: [UInt8] = []
            while true {
                guard let c = current else { throw failure("EOF while parsing a string") }
                at += 1
                switch c {
                case UInt8(ascii: "\""):
                    return String(decoding: out, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let e = current else { throw failure("EOF while parsing a string") }
                    at += 1
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try hex4()
                        if (0xDC00...0xDFFF).contains(scalar) { throw failure("lone trailing surrogate in hex escape") }
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard current == UInt8(ascii: "\\"), at + 1 < bytes.count, bytes[at + 1] == UInt8(ascii: "u") else {
                                throw failure("unexpected end of hex escape")
                            }
                            at += 2
                            let low = try hex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw failure("lone leading surrogate in hex escape") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        }
                        out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
                    default:
                        throw failure("invalid escape")
                    }
                case 0x00..<0x20:
                    throw failure("control character (\\u0000-\\u001F) found while parsing a string")
                default:
                    out.append(c)
                }
            }
        }

        mutating func digits() -> Int {
            let start = at
            while let c = current, c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") { at += 1 }
            return at - start
        }

        mutating func number() throws -> StrictJSON {
            let start = at
            let negative = current == UInt8(ascii: "-")
            if negative { at += 1 }
            guard let first = current, first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9") else { throw failure("invalid number") }
            if first == UInt8(ascii: "0") {
                at += 1
                if let next = current, next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9") { throw failure("invalid number") }
            } else {
                _ = digits()
            }
            var integral = true
            if current == UInt8(ascii: ".") {
                at += 1
                integral = false
                guard digits() > 0 else { throw failure("invalid number") }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                at += 1
                integral = false
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { at += 1 }
                guard digits() > 0 else { throw failure("invalid number") }
            }
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
            if integral, !negative, let value = UInt64(text) { return .unsigned(value) }
            guard let value = Double(text), value.isFinite else { throw failure("number out of range") }
            return .float(value)
        }
    }
}
