import Yams

/// A YAML node together with where it sits: the file, the key path and the line.
///
/// Every typed accessor throws a `StudyError` naming all three, so the parser never has
/// to format an error by hand.
struct StudyNode {
    let node: Node
    let keyPath: String
    let file: String

    /// The child path for `key` (`base` → `base.pretrain`).
    func path(_ key: String) -> String { keyPath.isEmpty ? key : "\(keyPath).\(key)" }

    var line: Int? { node.mark?.line }
    var column: Int? { node.mark?.column }

    func error(_ kind: StudyError.Kind, _ message: String, keyPath: String? = nil) -> StudyError {
        StudyError(kind: kind, file: file, keyPath: keyPath ?? self.keyPath, line: line, column: column,
                   message: message)
    }

    /// What the node is, in words, for "expected X, got Y".
    var kindDescription: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let s):
            switch s.tagName {
            case .int: return "the integer \(s.string)"
            case .float: return "the number \(s.string)"
            case .bool: return "the boolean \(s.string)"
            case .null: return "nothing (null)"
            default: return "the string \"\(s.string)\""
            }
        }
    }

    func wrongType(_ expected: String) -> StudyError {
        error(.wrongType, "expected \(expected), got \(kindDescription)")
    }

    func mapping() throws -> StudyMapping {
        guard case .mapping(let m) = node else { throw wrongType("a mapping") }
        var entries: [(key: String, node: StudyNode)] = []
        var seen: [String: Int] = [:]
        for (keyNode, valueNode) in m {
            let keyCursor = StudyNode(node: keyNode, keyPath: keyPath, file: file)
            guard case .scalar(let k) = keyNode else { throw keyCursor.error(.wrongType, "a key must be a plain name") }
            let key = k.string
            if let first = seen[key] {
                throw keyCursor.error(.duplicateKey, "key `\(key)` is given twice (first on line \(first))",
                                      keyPath: path(key))
            }
            seen[key] = keyNode.mark?.line ?? 0
            entries.append((key, StudyNode(node: valueNode, keyPath: path(key), file: file)))
        }
        return StudyMapping(owner: self, entries: entries)
    }

    /// The elements, each with its index in the key path (`methods[1]`).
    func sequence() throws -> [StudyNode] {
        guard case .sequence(let s) = node else { throw wrongType("a list") }
        return s.enumerated().map { StudyNode(node: $1, keyPath: "\(keyPath)[\($0)]", file: file) }
    }

    var isSequence: Bool { if case .sequence = node { return true } else { return false } }

    private var scalar: Node.Scalar? { if case .scalar(let s) = node { return s } else { return nil } }

    func int() throws -> Int {
        guard let s = scalar, s.tagName == .int, let v = node.int else { throw wrongType("an integer") }
        return v
    }

    /// A number; integers are accepted (`lr: 1` means 1.0).
    func double() throws -> Double {
        guard let s = scalar, s.tagName == .int || s.tagName == .float, let v = node.float else {
            throw wrongType("a number")
        }
        return v
    }

    func string() throws -> String {
        guard let s = scalar, s.tagName == .str else { throw wrongType("a string") }
        return s.string
    }

    func bool() throws -> Bool {
        guard let s = scalar, s.tagName == .bool, let v = node.bool else { throw wrongType("true or false") }
        return v
    }

    func positiveInt() throws -> Int {
        let v = try int()
        guard v > 0 else { throw error(.invalidValue, "must be a positive integer, got \(v)") }
        return v
    }

    func nonNegativeInt() throws -> Int {
        let v = try int()
        guard v >= 0 else { throw error(.invalidValue, "must be ≥ 0, got \(v)") }
        return v
    }

    func positiveDouble() throws -> Double {
        let v = try double()
        guard v > 0, v.isFinite else { throw error(.invalidValue, "must be a positive number, got \(v)") }
        return v
    }

    func nonNegativeDouble() throws -> Double {
        let v = try double()
        guard v >= 0, v.isFinite else { throw error(.invalidValue, "must be ≥ 0, got \(v)") }
        return v
    }

    /// A parameter value: a scalar, or a list of strings.
    func value() throws -> StudyValue {
        switch node {
        case .sequence:
            let elements = try sequence()
            if !elements.isEmpty, elements.allSatisfy({ if case .scalar(let s) = $0.node { s.tagName == .int } else { false } }) {
                return .ints(try elements.map { try $0.int() })
            }
            return .strings(try elements.map { try $0.string() })
        case .scalar(let s):
            switch s.tagName {
            case .int: return .int(try int())
            case .float: return .double(try double())
            case .bool: return .bool(try bool())
            case .str: return .string(s.string)
            default: throw wrongType("a number, string, boolean or list of strings")
            }
        default:
            throw wrongType("a number, string, boolean or list of strings")
        }
    }
}

/// A mapping's entries in document order, with checks for required and unknown keys.
struct StudyMapping {
    let owner: StudyNode
    let entries: [(key: String, node: StudyNode)]

    var keys: [String] { entries.map(\.key) }

    func optional(_ key: String) -> StudyNode? {
        entries.first { $0.key == key }?.node
    }

    func required(_ key: String) throws -> StudyNode {
        guard let node = optional(key) else {
            throw owner.error(.missingKey, "missing required key `\(key)`", keyPath: owner.path(key))
        }
        return node
    }

    /// Throws for the first key not in `allowed`, suggesting the closest allowed key.
    func rejectUnknownKeys(allowed: [String], context: String) throws {
        for (key, node) in entries where !allowed.contains(key) {
            var message = "unknown key `\(key)` in \(context)"
            if let guess = ClosestName.match(for: key, among: allowed) {
                message += "; did you mean `\(guess)`?"
            }
            message += " (allowed: \(allowed.joined(separator: ", ")))"
            let keyNode = owner.node.mapping?.keys.first { $0.scalar?.string == key }
            throw StudyError(kind: .unknownKey, file: owner.file, keyPath: node.keyPath,
                             line: keyNode?.mark?.line ?? node.line, column: keyNode?.mark?.column ?? node.column,
                             message: message)
        }
    }
}

extension Node.Scalar {
    /// The resolved YAML core-schema tag (`!!int`, `!!float`, `!!bool`, `!!null`, `!!str`):
    /// plain scalars by their text, quoted ones (non-specific `!`) as strings.
    var tagName: Tag.Name {
        let name = Resolver.default.resolveTag(of: Node.scalar(self))
        return name == .nonSpecific ? .str : name
    }
}
