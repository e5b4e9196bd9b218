/// One parameter value of a task in a study file (`TaskCatalog.make(kind:parameters:)`).
public enum TaskParameter: Equatable, Sendable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)
    case strings([String])

    /// Name of the value's type, as used in error messages.
    public var typeName: String {
        switch self {
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .bool: "boolean"
        case .strings: "list of strings"
        }
    }

    public var description: String {
        switch self {
        case .int(let v): "\(v)"
        case .double(let v): "\(v)"
        case .string(let v): v.debugDescription
        case .bool(let v): "\(v)"
        case .strings(let v): "[" + v.map(\.debugDescription).joined(separator: ", ") + "]"
        }
    }
}

/// Why `TaskCatalog.make` rejected a task description.
public enum TaskCatalogError: Error, Equatable, CustomStringConvertible, Sendable {
    case unknownKind(kind: String, known: [String])
    case unknownParameter(kind: String, parameter: String, allowed: [String])
    case missingParameter(kind: String, parameter: String)
    case wrongType(kind: String, parameter: String, expected: String, got: String)
    case invalidValue(kind: String, parameter: String, reason: String)

    public var description: String {
        switch self {
        case .unknownKind(let kind, let known):
            "unknown task kind \"\(kind)\"; known kinds: \(known.joined(separator: ", "))"
        case .unknownParameter(let kind, let parameter, let allowed):
            "task \"\(kind)\": unknown parameter \"\(parameter)\"; allowed: \(allowed.isEmpty ? "none" : allowed.joined(separator: ", "))"
        case .missingParameter(let kind, let parameter):
            "task \"\(kind)\": missing required parameter \"\(parameter)\""
        case .wrongType(let kind, let parameter, let expected, let got):
            "task \"\(kind)\": parameter \"\(parameter)\" must be a \(expected), got a \(got)"
        case .invalidValue(let kind, let parameter, let reason):
            "task \"\(kind)\": parameter \"\(parameter)\" \(reason)"
        }
    }
}

/// Typed, checked access to a kind's parameters; records which keys were read so that
/// `finish()` can reject the rest as unknown.
struct ParameterReader {
    let kind: String
    let parameters: [String: TaskParameter]
    let allowed: [String]

    init(kind: String, parameters: [String: TaskParameter], allowed: [String]) throws {
        self.kind = kind
        self.parameters = parameters
        self.allowed = allowed
        for key in parameters.keys.sorted() where !allowed.contains(key) {
            throw TaskCatalogError.unknownParameter(kind: kind, parameter: key, allowed: allowed)
        }
    }

    func value(_ key: String) -> TaskParameter? {
        precondition(allowed.contains(key), "catalog bug: \(kind) reads undeclared parameter \(key)")
        return parameters[key]
    }

    func int(_ key: String, default fallback: Int? = nil, range: ClosedRange<Int>? = nil) throws -> Int {
        let v: Int
        switch value(key) {
        case .int(let x)?: v = x
        case let other?: throw TaskCatalogError.wrongType(kind: kind, parameter: key, expected: "integer", got: other.typeName)
        case nil:
            guard let fallback else { throw TaskCatalogError.missingParameter(kind: kind, parameter: key) }
            v = fallback
        }
        if let range, !range.contains(v) {
            throw TaskCatalogError.invalidValue(kind: kind, parameter: key, reason: "must be in \(range.lowerBound)…\(range.upperBound), got \(v)")
        }
        return v
    }

    func seed(_ key: String, default fallback: Int? = nil) throws -> UInt64 {
        UInt64(try int(key, default: fallback, range: 0...Int.max))
    }

    func double(_ key: String, default fallback: Double) throws -> Double {
        switch value(key) {
        case .double(let x)?: return x
        case .int(let x)?: return Double(x)
        case let other?: throw TaskCatalogError.wrongType(kind: kind, parameter: key, expected: "number", got: other.typeName)
        case nil: return fallback
        }
    }

    func string(_ key: String, default fallback: String? = nil) throws -> String {
        switch value(key) {
        case .string(let x)?: return x
        case let other?: throw TaskCatalogError.wrongType(kind: kind, parameter: key, expected: "string", got: other.typeName)
        case nil:
            guard let fallback else { throw TaskCatalogError.missingParameter(kind: kind, parameter: key) }
            return fallback
        }
    }

    func bool(_ key: String, default fallback: Bool) throws -> Bool {
        switch value(key) {
        case .bool(let x)?: return x
        case let other?: throw TaskCatalogError.wrongType(kind: kind, parameter: key, expected: "boolean", got: other.typeName)
        case nil: return fallback
        }
    }

    func strings(_ key: String) throws -> [String] {
        switch value(key) {
        case .strings(let x)?: return x
        case .string(let x)?: return [x]
        case let other?: throw TaskCatalogError.wrongType(kind: kind, parameter: key, expected: "list of strings", got: other.typeName)
        case nil: throw TaskCatalogError.missingParameter(kind: kind, parameter: key)
        }
    }
}
