import Foundation

/// Every base and cell of a study with its index, identity, file and state: what `workbench
/// plan` prints, what `run --cells` selects from, and what resume and `verify` check.
///
/// Indices count from 0, like Slurm array indices: bases by seed order, cells in run order
/// (configurations in document order, seeds inside).
public struct StudyPlan {
    /// State of one part on disk.
    public enum State: Equatable, Sendable {
        /// Its file is there, sealed and verified (or, unverified, at least present).
        case complete
        /// No file, and nothing under the same label and seed.
        case missing
        /// No file for this identity, but one for the same label and seed with another identity:
        /// the study changed this part; the differences, "key: old → new".
        case changed([String])
        /// Its file is there but fails its check: the reason. It is recomputed.
        case damaged(String)

        public var isComplete: Bool { self == .complete }
        public var word: String {
            switch self {
            case .complete: return "complete"
            case .missing: return "missing"
            case .changed: return "changed"
            case .damaged: return "damaged"
            }
        }
    }

    public struct Base {
        public var index: Int
        public var seed: Int
        public var identity: RunIdentity
        public var file: URL
        public var state: State
        /// `/seed{s}/base` in the index.
        public var path: String { ResultsLayout.basePath(seed: seed) }
        public var name: String { "base \(index) (seed\(seed))" }
    }

    public struct Cell {
        public var index: Int
        public var run: MethodRun
        public var seed: Int
        public var identity: RunIdentity
        public var file: URL
        public var state: State
        /// Index into `bases` of the base it starts from.
        public var baseIndex: Int
        /// `/runs/{label}/seed{s}` in the index.
        public var path: String { ResultsLayout.cellPath(label: run.label, seed: seed) }
        public var name: String { "cell \(index) (\(run.label)/seed\(seed))" }
    }

    public let layout: ResultsLayout
    public let bases: [Base]
    public let cells: [Cell]

    /// The plan of `resolved` writing to `layout`. With `verify`, every present file is checked
    /// (seal and completeness marker) — what resume and `verify` do; without, presence suffices.
    public init(_ resolved: ResolvedStudy, layout: ResultsLayout, verify: Bool) {
        self.layout = layout
        let study = resolved.study
        var bases: [Base] = []
        for (i, seed) in study.seeds.enumerated() {
            let identity = RunIdentity.base(resolved, seed: seed)
            let file = layout.baseFile(seed: seed, id: identity.id)
            let prefix = "seed\(seed)-"
            bases.append(Base(index: i, seed: seed, identity: identity, file: file,
                              state: Self.state(of: file, identity: identity, verify: verify, siblingsIn: layout.basesFolder, prefix: prefix)))
        }
        var cells: [Cell] = []
        for run in study.runs {
            for (b, seed) in study.seeds.enumerated() {
                let identity = RunIdentity.cell(resolved, run: run, seed: seed, base: bases[b].identity)
                let file = layout.cellFile(label: run.label, seed: seed, id: identity.id)
                let prefix = ResultsLayout.fileSafe(run.label) + "-seed\(seed)-"
                cells.append(Cell(index: cells.count, run: run, seed: seed, identity: identity, file: file,
                                  state: Self.state(of: file, identity: identity, verify: verify, siblingsIn: layout.cellsFolder, prefix: prefix),
                                  baseIndex: b))
            }
        }
        self.bases = bases
        self.cells = cells
    }

    static func state(of file: URL, identity: RunIdentity, verify: Bool, siblingsIn folder: URL, prefix: String) -> State {
        if FileManager.default.fileExists(atPath: file.path) {
            guard verify else { return .complete }
            if let problem = PartFile.problem(file, expectedID: identity.id) { return .damaged(problem) }
            return .complete
        }
        // Another identity under the same label and seed: the study changed this part.
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names.sorted() where name.hasPrefix(prefix) && name.hasSuffix(".h5")
            && name.dropFirst(prefix.count).count == 16 + 3 {
            if let old = PartFile.identity(folder.appendingPathComponent(name)) {
                return .changed(RunIdentity.differences(old, identity.json))
            }
        }
        return .missing
    }

    /// Parses a selection of cell indices: "3", "3-7", "1,4,9-11", or "slurm" (the value of
    /// `SLURM_ARRAY_TASK_ID`), each index within 0..<count.
    public static func selection(_ text: String, count: Int, what: String = "cells", option: String = "--cells",
                                 environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [Int] {
        var spec = text.trimmingCharacters(in: .whitespaces)
        if spec == "slurm" {
            guard let id = environment["SLURM_ARRAY_TASK_ID"], !id.isEmpty else {
                throw RunnerError.badSelection("\(option) slurm: SLURM_ARRAY_TASK_ID is not set (run it inside a Slurm job array)")
            }
            spec = id
        }
        var out: [Int] = []
        for part in spec.split(separator: ",") {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard (bounds.count == 1 || bounds.count == 2), bounds.allSatisfy({ $0 != nil }) else {
                throw RunnerError.badSelection("\(option) \(text): \"\(part)\" is not an index or a range like 3-7")
            }
            let lo = bounds[0]!, hi = bounds.last!!
            guard lo <= hi else { throw RunnerError.badSelection("\(option) \(text): range \(part) runs backwards") }
            guard lo >= 0, hi < count else {
                throw RunnerError.badSelection("\(option) \(text): index \(lo < 0 ? lo : hi) is out of range; the study has \(count) \(what), 0–\(count - 1) (see `workbench plan`)")
            }
            out += Array(lo...hi)
        }
        guard !out.isEmpty else { throw RunnerError.badSelection("\(option) \(text): no index given") }
        var seen = Set<Int>()
        return out.filter { seen.insert($0).inserted }
    }
}
