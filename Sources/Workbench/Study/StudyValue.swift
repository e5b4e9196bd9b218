/// A task parameter as a study file states it (`digits: 2`, `table_seed: 1`, `alphabet: [a, b]`).
///
/// Maps one-to-one onto the task catalog's parameter type; the runner converts it. Encodable
/// as plain JSON so method configurations can be decoded from the same values.
public enum StudyValue: Equatable, Hashable, Sendable, Encodable, CustomStringConvertible {
    case int(Int)
    case double(Double)
    case string(String)
    case bool(Bool)
    case strings([String])
    /// A list of integers as one value (`layers_to_transform: [0, 1]`).
    case ints([Int])

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let v): try container.encode(v)
        case .double(let v): try container.encode(v)
        case .string(let v): try container.encode(v)
        case .bool(let v): try container.encode(v)
        case .strings(let v): try container.encode(v)
        case .ints(let v): try container.encode(v)
        }
    }

    /// The value as a label shows it: `4`, `0.0003`, `true`, `q+v`.
    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .double(let v): return String(v)
        case .string(let v): return v
        case .bool(let v): return String(v)
        case .strings(let v): return v.joined(separator: "+")
        case .ints(let v): return v.map(String.init).joined(separator: "+")
        }
    }

    /// The value as a number, if it is one (an integer counts).
    public var number: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .double(let v): return v
        default: return nil
        }
    }
}
