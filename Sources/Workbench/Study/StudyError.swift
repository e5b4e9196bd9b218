/// Why a study file was rejected: one message naming the file, the key and the line.
///
/// Rendered compiler-style, `FILE:LINE:COLUMN: KEY: message`, so editors can jump to it,
/// e.g. `studies/quickstart.yaml:14:20: methods[1].r: lora: `r` (96) exceeds …`.
/// `keyPath` spells the place in the document the way a reader would: `methods[1].r`,
/// `base.pretrain.steps`; the empty path is the document itself.
public struct StudyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of mistake it is (tests and callers branch on this, users read `message`).
    public enum Kind: String, Equatable, Sendable {
        case unreadableFile, syntax, unknownKey, duplicateKey, wrongType, missingKey
        case invalidValue, unknownMethod, unknownProtocol, duplicateName
        case invalidConfiguration, missingCheckpoint
    }

    public var kind: Kind
    /// The study file as the caller named it.
    public var file: String
    /// Where in the document, e.g. `methods[1].r`; empty for the whole document.
    public var keyPath: String
    /// 1-based line and column of the offending node; nil when there is no document.
    public var line: Int?
    public var column: Int?
    public var message: String

    public init(kind: Kind, file: String, keyPath: String, line: Int?, column: Int?, message: String) {
        self.kind = kind
        self.file = file
        self.keyPath = keyPath
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        var place = file
        if let line { place += ":\(line)" }
        if let column { place += ":\(column)" }
        let key = keyPath.isEmpty ? "" : " \(keyPath):"
        return "\(place):\(key) \(message)"
    }
}
