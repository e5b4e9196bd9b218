/// Why a GGUF file cannot be read: one line naming the file and, where there is one, the
/// metadata key or tensor, and the byte offset.
public struct GGUFError: Error, Equatable, CustomStringConvertible {
    public var path: String
    /// The key, the tensor, or "header".
    public var what: String
    public var offset: Int?
    public var reason: String

    public var description: String {
        "\(path): \(what)\(offset.map { " (at byte \($0))" } ?? ""): \(reason)"
    }
}
