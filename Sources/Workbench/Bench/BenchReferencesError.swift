/// Why a references file (`bench/references.json`) was rejected: one message naming the file
/// and the key, e.g. `bench/references.json: figures[3].value: must be a finite number > 0`.
/// `keyPath` is empty when the whole document is at fault (unreadable, not JSON).
public struct BenchReferencesError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file as the caller named it.
    public var file: String
    /// Where in the document, e.g. `figures[3].value`, `magic`.
    public var keyPath: String
    public var message: String

    public init(file: String, keyPath: String, message: String) {
        self.file = file; self.keyPath = keyPath; self.message = message
    }

    public var description: String {
        let key = keyPath.isEmpty ? "" : " \(keyPath):"
        return "\(file):\(key) \(message) (regenerate with `python3 scripts/bench_pytorch.py`)"
    }
}
