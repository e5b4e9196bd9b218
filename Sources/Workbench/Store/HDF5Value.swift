import Foundation

/// A value stored in an attribute or a scalar dataset.
///
/// The store writes the scalar cases; the array cases exist so that attributes of any file
/// (e.g. an h5py-written `np.array([1, 2])`) can be read back and shown by `inspect`.
/// Strings are written as variable-length UTF-8, which h5py returns as `str`.
public enum HDF5Value: Equatable, Sendable, CustomStringConvertible {
    case integer(Int64)
    case double(Double)
    case string(String)
    case integers([Int64])
    case doubles([Double])
    case strings([String])
    /// A value of a type the store does not decode (compound, enum, reference, …), described.
    case unsupported(String)

    public var description: String {
        switch self {
        case .integer(let v): return String(v)
        case .double(let v): return String(v)
        case .string(let v): return Self.quoted(v)
        case .integers(let v): return "[" + v.map { String($0) }.joined(separator: ", ") + "]"
        case .doubles(let v): return "[" + v.map { String($0) }.joined(separator: ", ") + "]"
        case .strings(let v): return "[" + v.map(Self.quoted).joined(separator: ", ") + "]"
        case .unsupported(let type): return "<\(type)>"
        }
    }

    /// The integer held by `.integer`, else nil.
    public var integerValue: Int64? { if case .integer(let v) = self { return v } else { return nil } }
    /// The double held by `.double`, else nil.
    public var doubleValue: Double? { if case .double(let v) = self { return v } else { return nil } }
    /// The string held by `.string`, else nil.
    public var stringValue: String? { if case .string(let v) = self { return v } else { return nil } }

    private static func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n") + "\""
    }
}
