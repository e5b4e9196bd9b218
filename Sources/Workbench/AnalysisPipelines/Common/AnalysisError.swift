import Foundation

/// Why an analysis could not read a results file or could not run on it.
public enum AnalysisError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file is not a committed workbench study file.
    case notAStudyFile(path: String, reason: String)
    /// A base or cell file fails its check (seal, completeness, identity).
    case damagedPart(file: String, part: String, reason: String)
    /// An object the analysis needs is missing from the file.
    case missing(path: String, object: String, hint: String)
    /// The filters (method, seed, task, matrix) left nothing to analyse.
    case nothingSelected(path: String, filters: String)
    /// An output file could not be written.
    case cannotWrite(path: String, detail: String)
    /// An option value the analysis cannot use.
    case invalidOption(name: String, value: String, reason: String)
    /// A tensor of a checkpoint whose values the analysis cannot use (NaN, ∞, out of float32's range).
    case unusableTensor(source: String, tensor: String, detail: String)

    public var description: String {
        switch self {
        case .notAStudyFile(let path, let reason):
            return "\(path) is not a workbench study results file: \(reason)"
        case .damagedPart(let file, let part, let reason):
            return "\(file) (\(part)) is damaged: \(reason); `workbench run` on the study recomputes it, `workbench verify` lists every damaged part"
        case .missing(let path, let object, let hint):
            return "\(path): no \(object)" + (hint.isEmpty ? "" : " (\(hint))")
        case .nothingSelected(let path, let filters):
            return "\(path): nothing matches \(filters)"
        case .cannotWrite(let path, let detail):
            return "cannot write \(path): \(detail)"
        case .invalidOption(let name, let value, let reason):
            return "--\(name) \(value): \(reason)"
        case .unusableTensor(let source, let tensor, let detail):
            return "\(source): tensor \(tensor): \(detail)"
        }
    }
}
