import Foundation
import PEFTEngine

/// Turns one `methods[i]` entry into its runs: checks keys, expands sweeps, decodes each
/// configuration through the method's own type and validates it against the model.
struct MethodEntryParser {
    let catalog: MethodCatalog
    let model: ModelConfig
    /// `training.warmup`: a `steps` override below it would never leave warmup.
    let warmup: Int

    /// Keys every entry may carry besides the method's own fields.
    static let commonKeys = ["method", "protocol", "lr", "steps", "batch", "label"]

    /// One key of the entry: its values (one, or several for a sweep) and where each was written.
    private struct Dimension {
        let key: String
        var values: [(value: StudyValue, node: StudyNode)]
        /// The whole value as written, when it is a list that may be a list-valued field.
        let wholeList: (value: StudyValue, node: StudyNode)?
        var isSweep: Bool
        let isMethodField: Bool
    }

    func parse(_ entry: StudyNode) throws -> [MethodRun] {
        let map = try entry.mapping()
        let methodNode = try map.required("method")
        let methodName = try methodNode.string()
        guard let type = catalog.configurationType(named: methodName) else {
            var message = "unknown method \"\(methodName)\""
            if let guess = ClosestName.match(for: methodName, among: catalog.names) { message += "; did you mean \"\(guess)\"?" }
            message += "; known methods: \(catalog.names.joined(separator: ", "))"
            throw methodNode.error(.unknownMethod, message)
        }
        let fieldNames = PromptInitText.applies(to: methodName) ? PromptInitText.studyFieldNames(type.fieldNames) : type.fieldNames
        try map.rejectUnknownKeys(allowed: Self.commonKeys + fieldNames, context: "a \(methodName) entry")
        let label = try map.optional("label").map { node in
            let label = try nonEmptyString(node)
            if let problem = ResultsLayout.unusableGroupName(label) { throw node.error(.invalidValue, problem) }
            return label
        } ?? methodName

        var dimensions: [Dimension] = []
        for (key, node) in map.entries where key != "method" && key != "label" {
            dimensions.append(try dimension(key: key, node: node))
        }
        try resolveListFields(&dimensions, type: type)

        var runs: [MethodRun] = []
        for combination in cartesianProduct(dimensions.map { $0.isSweep ? $0.values : [$0.wholeList ?? $0.values[0]] }) {
            runs.append(try makeRun(entry: entry, methodName: methodName, label: label, type: type,
                                    dimensions: dimensions, choice: combination))
        }
        return runs
    }

    private func nonEmptyString(_ node: StudyNode) throws -> String {
        let s = try node.string()
        guard !s.trimmingCharacters(in: .whitespaces).isEmpty else { throw node.error(.invalidValue, "must not be empty") }
        return s
    }

    /// Reads one key; a list is a sweep unless it turns out to be one list-typed value.
    private func dimension(key: String, node: StudyNode) throws -> Dimension {
        let isField = !Self.commonKeys.contains(key)
        let elements = node.isSequence ? try node.sequence() : [node]
        if node.isSequence && elements.isEmpty { throw node.error(.invalidValue, "an empty list sweeps over nothing") }
        var values: [(StudyValue, StudyNode)] = []
        for element in elements {
            values.append((try overrideOrFieldValue(key: key, node: element), element))
        }
        var whole: (StudyValue, StudyNode)?
        if isField, node.isSequence, values.allSatisfy({ if case .string = $0.0 { true } else { false } }) {
            whole = (.strings(values.map { $0.0.description }), node)
        } else if isField, node.isSequence, values.allSatisfy({ if case .int = $0.0 { true } else { false } }) {
            whole = (.ints(values.compactMap { if case .int(let i) = $0.0 { i } else { nil } }), node)
        }
        return Dimension(key: key, values: values, wholeList: whole, isSweep: node.isSequence, isMethodField: isField)
    }

    private func overrideOrFieldValue(key: String, node: StudyNode) throws -> StudyValue {
        switch key {
        case "lr": return .double(try node.positiveDouble())
        case "batch": return .int(try node.positiveInt())
        case "steps":
            let steps = try node.positiveInt()
            if steps < warmup { throw node.error(.invalidValue, "steps (\(steps)) is less than training.warmup (\(warmup))") }
            return .int(steps)
        case "protocol":
            let name = try node.string()
            guard FineTuningProtocol(rawValue: name) != nil else {
                let known = FineTuningProtocol.allCases.map(\.rawValue)
                var message = "unknown protocol \"\(name)\""
                if let guess = ClosestName.match(for: name, among: known) { message += "; did you mean \"\(guess)\"?" }
                throw node.error(.unknownProtocol, message + "; known protocols: \(known.joined(separator: ", "))")
            }
            return .string(name)
        default: return try node.value()
        }
    }

    /// A list of strings for a field whose configuration takes a list (`target_modules: [q, v]`)
    /// is one value, not a sweep; a list of lists sweeps it. Decided by asking the method's
    /// decoder: if the whole list decodes where the field sits, the field is list-typed.
    /// Repeats until nothing changes, so two list-typed fields do not hide each other.
    private func resolveListFields(_ dimensions: inout [Dimension], type: any PEFTMethodConfiguration.Type) throws {
        var undecided = Set(dimensions.indices.filter { dimensions[$0].wholeList != nil })
        var changed = true
        while changed && !undecided.isEmpty {
            changed = false
            for index in undecided.sorted() {
                var probe: [String: StudyValue] = [:]
                for (i, d) in dimensions.enumerated() where d.isMethodField {
                    probe[d.key] = i == index ? d.wholeList!.value : (d.isSweep ? d.values[0].value : (d.wholeList ?? d.values[0]).value)
                }
                switch decodeOutcome(type: type, fields: probe, probing: dimensions[index].key) {
                case .accepted:
                    dimensions[index].isSweep = false
                    undecided.remove(index)
                    changed = true
                case .rejectedHere:
                    undecided.remove(index)
                    changed = true
                case .undecided:
                    break
                }
            }
        }
    }

    private enum ProbeOutcome { case accepted, rejectedHere, undecided }

    private func decodeOutcome(type: any PEFTMethodConfiguration.Type, fields: [String: StudyValue], probing key: String) -> ProbeOutcome {
        do {
            _ = try Self.decode(type: type, fields: fields)
            return .accepted
        } catch let DecodingError.typeMismatch(_, context) where context.codingPath.map(\.stringValue) == [key] {
            return .rejectedHere
        } catch {
            return .undecided
        }
    }

    static func decode(type: any PEFTMethodConfiguration.Type, fields: [String: StudyValue]) throws -> any PEFTMethodConfiguration {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = try encoder.encode(try MethodFieldValue.engineFields(method: type.methodName, fields))
        return try JSONDecoder().decode(ConfigurationBox.self, from: json, configuration: type).value
    }

    private func makeRun(entry: StudyNode, methodName: String, label: String, type: any PEFTMethodConfiguration.Type,
                         dimensions: [Dimension], choice: [(value: StudyValue, node: StudyNode)]) throws -> MethodRun {
        var fields: [String: StudyValue] = [:]
        var fieldNodes: [String: StudyNode] = [:]
        var overrides = TrainingOverrides()
        var proto = FineTuningProtocol.sequential
        var sweep: [(key: String, value: StudyValue)] = []
        for (d, picked) in zip(dimensions, choice) {
            if d.isSweep { sweep.append((d.key, picked.value)) }
            switch (d.key, picked.value) {
            case ("lr", .double(let v)): overrides.learningRate = v
            case ("steps", .int(let v)): overrides.steps = v
            case ("batch", .int(let v)): overrides.batch = v
            case ("protocol", .string(let v)): proto = FineTuningProtocol(rawValue: v)!
            default:
                fields[d.key] = picked.value
                fieldNodes[d.key] = picked.node
            }
        }
        func located(_ key: String?) -> StudyNode { key.flatMap { fieldNodes[$0] } ?? entry }
        if PromptInitText.applies(to: methodName) {
            try PromptInitText.check(fields: fields, nodes: fieldNodes, entry: entry, model: model)
        }
        let configuration: any PEFTMethodConfiguration
        do {
            configuration = try Self.decode(type: type, fields: fields)
            try configuration.validate(for: model)
        } catch let error as DecodingError {
            // JSONDecoder reports a fractional number where an integer belongs (`r: 8.5`) as
            // invalid JSON with no key: find the field by trying it rounded.
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty,
               let key = Self.fractionalFieldWantingInteger(type: type, fields: fields) {
                throw located(key).error(.invalidConfiguration, "\(methodName): `\(key)` must be an integer, got \(fields[key]!)")
            }
            let (key, message) = Self.describe(error)
            if let key, let node = fieldNodes[key] {
                throw node.error(.invalidConfiguration, "\(methodName): \(message)")
            }
            let kind: StudyError.Kind = if case .keyNotFound = error { .missingKey } else { .invalidConfiguration }
            throw entry.error(kind, "\(methodName): \(message)", keyPath: key.map { entry.path($0) })
        } catch let PEFTMethodError.invalidConfiguration(method, key, reason) {
            throw located(key).error(.invalidConfiguration, "\(method): `\(key)` \(reason)\(Self.modelNote(model))")
        } catch let error as StudyError {
            throw error
        } catch {
            throw entry.error(.invalidConfiguration, "\(methodName): \(error)")
        }
        let suffix = sweep.map { " \($0.key)=\($0.value)" }.joined()
        return MethodRun(label: label + suffix, methodName: methodName, configuration: configuration,
                         fineTuningProtocol: proto, overrides: overrides, sweep: sweep, fields: fields,
                         keyPath: entry.keyPath, line: entry.line)
    }

    /// The field holding a fractional number that decodes once rounded, i.e. that must be an integer.
    static func fractionalFieldWantingInteger(type: any PEFTMethodConfiguration.Type, fields: [String: StudyValue]) -> String? {
        for key in fields.keys.sorted() {
            guard case .double(let x) = fields[key]!, x.isFinite, x != x.rounded(), abs(x) < 1e15 else { continue }
            var probe = fields
            probe[key] = .int(Int(x.rounded()))
            if (try? decode(type: type, fields: probe)) != nil { return key }
        }
        return nil
    }

    private static func modelNote(_ m: ModelConfig) -> String {
        " (model: d_model \(m.dModel), d_ff \(m.dFF), n_heads \(m.heads), context_length \(m.contextLength))"
    }

    /// The field a decoding error is about, and a sentence for the user.
    static func describe(_ error: DecodingError) -> (key: String?, message: String) {
        switch error {
        case .typeMismatch(let type, let c):
            return (c.codingPath.first?.stringValue, "`\(c.codingPath.map(\.stringValue).joined(separator: "."))` must be \(words(for: type))")
        case .valueNotFound(let type, let c):
            return (c.codingPath.first?.stringValue, "`\(c.codingPath.map(\.stringValue).joined(separator: "."))` needs \(words(for: type))")
        case .keyNotFound(let key, _):
            return (key.stringValue, "missing required key `\(key.stringValue)`")
        case .dataCorrupted(let c):
            return (c.codingPath.first?.stringValue, c.debugDescription)
        @unknown default:
            return (nil, "\(error)")
        }
    }

    /// A decoder's expected type, as the error message says it.
    private static func words(for type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Int32.Type, is Int64.Type, is UInt.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is Bool.Type: return "true or false"
        case is String.Type: return "a string"
        default: return String(describing: type).hasPrefix("Array") ? "a list" : "a \(type)"
        }
    }

    private func cartesianProduct<T>(_ axes: [[T]]) -> [[T]] {
        axes.reduce([[]]) { partial, axis in partial.flatMap { prefix in axis.map { prefix + [$0] } } }
    }
}

/// Lets `JSONDecoder` decode a configuration type known only at run time.
private struct ConfigurationBox: DecodableWithConfiguration {
    let value: any PEFTMethodConfiguration
    init(from decoder: any Decoder, configuration type: any PEFTMethodConfiguration.Type) throws {
        value = try type.init(from: decoder)
    }
}
