import Foundation

/// A study: one base model per seed, then every method configuration × seed fine-tuned over
/// a sequence of tasks, evaluated on every task and base skill after each one.
///
/// Parsed from a YAML file (see `studies/toy-quickstart.yaml` and `studies/quickstart.yaml` for the annotated format) by
/// `Study.load(contentsOf:)`, which performs every check that needs no training — keys,
/// types, ranges, method names and each configuration's `validate(for:)` against the
/// model — and reports the first problem as a `StudyError` naming file, key path and line.
public struct Study: Sendable {
    public var name: String
    /// The study file as the caller named it.
    public var file: String
    /// The file's full text, stored verbatim with the results.
    public var text: String
    /// Random seeds; each gets its own base model and its own run of every configuration.
    public var seeds: [Int]
    public var model: ModelShape
    public var base: BaseModelSpec
    /// Fine-tuning defaults; tasks and method entries may override `steps`, `lr`, `batch`.
    public var training: TrainingSettings
    public var evaluation: EvaluationSettings
    /// Fine-tuning tasks, in the order they are learned.
    public var tasks: [TaskSpec]
    /// Every method configuration, sweeps expanded, in document order.
    public var runs: [MethodRun]
    /// What each cell stores (the `store:` block).
    public var store: StorePolicy = StorePolicy()
    /// Where the results go (HDF5), relative to the working directory unless absolute.
    public var output: String

    /// Reads and checks the study at `path`.
    ///
    /// - Parameters:
    ///   - catalog: the methods the study may name (PEFTEngine's registry by default).
    ///   - workingDirectory: what relative paths (`base.checkpoint`) are resolved against.
    ///   - memoryLimit: bytes the largest cell may need (`Study.memoryEstimate`); nil: this
    ///     machine's physical memory. A study over it is refused before anything is built.
    public static func load(contentsOf path: String, catalog: MethodCatalog = .registry,
                            workingDirectory: String = FileManager.default.currentDirectoryPath,
                            memoryLimit: Double? = nil) throws -> Study {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read as UTF-8 text" : "no such file"
            throw StudyError(kind: .unreadableFile, file: path, keyPath: "", line: nil, column: nil,
                             message: "cannot open study file: \(reason)")
        }
        return try parse(yaml: text, file: path, catalog: catalog, workingDirectory: workingDirectory, memoryLimit: memoryLimit)
    }

    /// Checks study text that came from `file` (used in every message).
    public static func parse(yaml text: String, file: String, catalog: MethodCatalog = .registry,
                             workingDirectory: String = FileManager.default.currentDirectoryPath,
                             memoryLimit: Double? = nil) throws -> Study {
        try StudyParser(file: file, text: text, catalog: catalog, workingDirectory: workingDirectory, memoryLimit: memoryLimit).parse()
    }
}
