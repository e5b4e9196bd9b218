import Foundation

/// A study: one base model per seed, then every method configuration × seed fine-tuned over
/// a sequence of tasks, evaluated on every task and base skill after each one.
///
/// Parsed from a YAML file (see `studies/toy-quickstart.yaml` and `studies/quickstart.yaml` for the annotated format) by
/// `Study.load(contentsOf:)`, which performs every check that needs no training — keys,
/// types, ranges, method names and each configuration's `validate(for:)` against the
/// model — and reports the first problem as a `StudyError` naming file, key path and line.
public struct Study: Sendable {
    /// At most this many seeds (each is a base of its own).
    public static let maximumSeeds = 10_000
    /// At most this many cells (seeds × configurations): the plan hashes each cell's identity
    /// (about 1 ms per cell), so 100,000 cells take a couple of minutes to plan.
    public static let maximumCells = 100_000

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
            guard let bytes = FileManager.default.contents(atPath: path) else {
                throw StudyError(kind: .unreadableFile, file: path, keyPath: "", line: nil, column: nil,
                                 message: "cannot open study file: " + (FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"))
            }
            let bad = Self.firstInvalidUTF8(bytes)
            let line = bytes.prefix(bad.offset).filter { $0 == 0x0A }.count + 1
            let column = bad.offset - (bytes.prefix(bad.offset).lastIndex(of: 0x0A).map { $0 + 1 } ?? 0) + 1
            throw StudyError(kind: .unreadableFile, file: path, keyPath: "", line: line, column: column,
                             message: String(format: "not UTF-8 text: byte %d (0x%02X) at line %d, column %d is not valid UTF-8", bad.offset, bad.byte, line, column))
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

extension Study {
    /// The offset and value of the first byte of `bytes` that does not continue valid UTF-8
    /// (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF); the end when all is valid.
    static func firstInvalidUTF8(_ bytes: Data) -> (offset: Int, byte: UInt8) {
        let b = [UInt8](bytes)
        var i = 0
        while i < b.count {
            let lead = b[i]
            let length: Int, low: UInt8, high: UInt8
            switch lead {
            case 0x00...0x7F: i += 1; continue
            case 0xC2...0xDF: (length, low, high) = (2, 0x80, 0xBF)
            case 0xE0: (length, low, high) = (3, 0xA0, 0xBF)
            case 0xE1...0xEC, 0xEE...0xEF: (length, low, high) = (3, 0x80, 0xBF)
            case 0xED: (length, low, high) = (3, 0x80, 0x9F)
            case 0xF0: (length, low, high) = (4, 0x90, 0xBF)
            case 0xF1...0xF3: (length, low, high) = (4, 0x80, 0xBF)
            case 0xF4: (length, low, high) = (4, 0x80, 0x8F)
            default: return (i, lead)
            }
            guard i + length <= b.count else { return (i, lead) }
            guard (low...high).contains(b[i + 1]) else { return (i + 1, b[i + 1]) }
            for j in 2..<max(length, 2) where !(0x80...0xBF).contains(b[i + j]) { return (i + j, b[i + j]) }
            i += length
        }
        return (b.count, 0)
    }
}
