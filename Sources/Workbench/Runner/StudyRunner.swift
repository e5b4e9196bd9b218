import Foundation
import PEFTEngine

/// Runs a study: one base model per seed, then every method configuration × seed ("cell")
/// fine-tuned over the task sequence and evaluated on every skill and task after each task.
/// Each base and each cell is committed to its own file (`ResultsLayout`), and an index file —
/// the study's `output` — links them into one study (docs/hdf5-layout.md, "Study results").
///
/// Crash safety and resume: a part is committed by its own `HDF5Transaction` (temporary, seal,
/// rename), under a name fixed by its `RunIdentity`; resume computes exactly the parts whose
/// files are missing, damaged (they fail `FileSeal`), or belong to a changed configuration.
/// Adding a method or a seed, or editing a comment, therefore runs only the new cells.
/// A selection (`Selection`) runs some cells or only the bases, as Slurm array tasks do;
/// `PartLock` keeps two processes off the same part.
///
/// Determinism: every random choice comes from the seed — model init `seed`, data
/// `examples(…, seed: seed)` for train and test of every task, batch order and method init
/// from labelled forks — so two runs with the same BLAS kernel and thread count give
/// bit-identical results.
public final class StudyRunner {
    public let resolved: ResolvedStudy
    public let output: URL
    public let layout: ResultsLayout
    public let force: Bool
    public let runtime: RuntimeInfo
    let progress: RunnerProgressHandler?
    /// A pretrained base's weights once read (`pretrainedWeights()`).
    final class PretrainedCache { var weights: [Float]? }
    let pretrainedCache = PretrainedCache()

    /// Checks the study (throws `StudyError`) without touching the output.
    ///
    /// - Parameters:
    ///   - output: where the index goes; the study's `output` (relative to the current
    ///     directory) when nil.
    ///   - force: recompute the selected parts even where a sound file exists.
    public init(study: Study, output: URL? = nil, force: Bool = false, runtime: RuntimeInfo,
                progress: RunnerProgressHandler? = nil) throws {
        resolved = try ResolvedStudy(study)
        self.output = (output ?? URL(fileURLWithPath: study.output)).standardizedFileURL
        // Through a symlink, the parts live beside the target: the link and the target are one
        // study and claim the same parts.
        layout = ResultsLayout(index: self.output.resolvingSymlinksInPath())
        self.force = force
        self.runtime = runtime
        self.progress = progress
    }

    var study: Study { resolved.study }
    var config: ModelConfig { resolved.config }

    /// Thrown internally when the progress handler answers `.stop`.
    struct StopRequested: Error {}

    /// What one invocation computes.
    public struct Selection: Sendable, Equatable {
        /// Cell indices (from 0, `StudyPlan` order); nil = every cell. A selected cell never
        /// pretrains its base: a missing base is an error.
        public var cells: [Int]?
        /// Only the bases, no cell.
        public var basesOnly: Bool
        /// With `basesOnly`: these base indices (nil = every base).
        public var bases: [Int]?

        public init(cells: [Int]? = nil, basesOnly: Bool = false, bases: [Int]? = nil) {
            self.cells = cells
            self.basesOnly = basesOnly || bases != nil
            self.bases = bases
        }
        public static let all = Selection()
    }

    /// A label as an HDF5 link name ('/' would create a group).
    static func groupName(_ label: String) -> String { ResultsLayout.groupName(label) }

    /// The plan as it stands on disk (`verify`: check every present file's seal).
    public func plan(verify: Bool) -> StudyPlan { StudyPlan(resolved, layout: layout, verify: verify) }

    /// Runs (or resumes) the selected parts; returns what was done and the summary of every
    /// completed cell.
    public func run(selection: Selection = .all) throws -> StudyRunReport {
        let start = ContinuousClock.now
        try prepareOutput()
        let plan = StudyPlan(resolved, layout: layout, verify: true)
        var notes: [String] = []
        let selected = selection.basesOnly ? [] : (selection.cells ?? Array(plan.cells.indices))
        // Every check that needs no training, before any training.
        if selection.cells != nil {
            for i in selected where !plan.cells[i].state.isComplete || force {
                let base = plan.bases[plan.cells[i].baseIndex]
                guard base.state.isComplete else { throw RunnerError.baseMissing(cell: plan.cells[i].name, base: base.name) }
            }
        }
        for part in plan.bases.map({ ($0.name, $0.state) }) + selected.map({ (plan.cells[$0].name, plan.cells[$0].state) }) {
            switch part.1 {
            case .changed(let differences):
                notes.append("\(part.0) changed since it ran (\(differences.joined(separator: "; "))): recomputing")
            case .damaged(let reason):
                notes.append("\(part.0) is damaged (\(reason)): recomputing")
            default: break
            }
        }

        let neededBases = selection.basesOnly ? (selection.bases ?? Array(plan.bases.indices))
            : Array(Set(selected.map { plan.cells[$0].baseIndex })).sorted()
        let toWrite = neededBases.map { plan.bases[$0] }.filter { !$0.state.isComplete || force }.map(\.file)
            + selected.map { plan.cells[$0] }.filter { !$0.state.isComplete || force }.map(\.file)
        try Self.checkReplaceable(toWrite)

        var computed = 0, skipped = 0, stopped = false
        do {
            var bases: [Int: BaseState] = [:]
            for b in neededBases { bases[b] = try baseState(plan.bases[b], cellCount: plan.cells.count) }
            for (n, i) in selected.enumerated() {
                let cell = plan.cells[i]
                var state = ProgressState(handler: progress, phase: "\(cell.run.label) seed\(cell.seed)",
                                          cellIndex: n + 1, cellCount: selected.count)
                if cell.state.isComplete && !force {
                    skipped += 1
                    try state.emit(.cellSkipped)
                    continue
                }
                let lock = try PartLock(locksFolder: layout.locksFolder, partFile: cell.file, what: cell.name)
                defer { lock.release() }
                state.lock = lock
                try runCell(cell, base: bases[cell.baseIndex]!, progress: &state)
                computed += 1
                try state.emit(.cellFinished)
            }
        } catch is StopRequested {
            stopped = true
        }
        let summary = try StudySummary.read(from: output)
        return StudyRunReport(output: output, computedCells: computed, skippedCells: skipped, stopped: stopped,
                              summary: summary, wallTime: RunnerClock.seconds(since: start), notes: notes)
    }

    /// Refuses, before any training, a part file's place taken by something a rename cannot
    /// replace: a folder, a FIFO, a device or a socket.
    static func checkReplaceable(_ files: [URL]) throws {
        for file in files {
            var info = stat()
            guard lstat(file.path, &info) == 0 else { continue }
            let type = info.st_mode & S_IFMT
            guard type == S_IFREG || type == S_IFLNK else {
                throw RunnerError.outputRefused(output: file.path, reason: "\(type == S_IFDIR ? "a folder" : "not a regular file") stands where this part's file belongs; remove it and run again")
            }
        }
    }

    /// Checks the output can be written, creates the parts folders, and (re)writes the index
    /// when it does not already describe this study.
    func prepareOutput() throws {
        let path = output.path
        var info = stat()
        if lstat(path, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFLNK {
                guard stat(path, &info) == 0 else {
                    throw RunnerError.outputRefused(output: path, reason: "a symbolic link to a file that does not exist; it will not be replaced by a regular file (remove the link or point --output elsewhere)")
                }
            }
            guard info.st_mode & S_IFMT == S_IFREG else {
                throw RunnerError.outputRefused(output: path, reason: "not a regular file (a folder?); give --output a file name such as results/study.h5")
            }
            guard info.st_mode & 0o222 != 0 else {
                throw RunnerError.outputRefused(output: path, reason: "read-only (mode \(String(info.st_mode & 0o777, radix: 8))); the results are left as they are — make it writable to add to them, or use --output")
            }
        }
        for folder in [layout.parts, layout.basesFolder, layout.cellsFolder, layout.analysisFolder, layout.locksFolder] {
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw RunnerError.io(path: folder.path, detail: "cannot create the results folder: \(error.localizedDescription)")
            }
        }
        if FileManager.default.fileExists(atPath: path), !force {
            let file = try HDF5File.open(layout.index)
            defer { try? file.close() }
            let root = try file.root()
            guard try root.hasAttribute(ResultsLayout.IndexAttribute.studyText) else { throw RunnerError.notAStudyFile(output: path) }
            guard try root.hasAttribute(ResultsLayout.IndexAttribute.layoutVersion),
                  try root.integerAttribute(ResultsLayout.IndexAttribute.layoutVersion) == Int64(ResultsLayout.version) else {
                throw RunnerError.outputRefused(output: path, reason: "written by an earlier workbench in the single-file layout; it cannot be resumed — move it away, or use --force to start a new study there")
            }
            let plan = StudyPlan(resolved, layout: layout, verify: false)
            if try root.stringAttribute(ResultsLayout.IndexAttribute.studyText) == study.text,
               try root.contains(ResultsLayout.PlanDataset.cellIDs),
               case .strings(let ids) = try root.readValue(ResultsLayout.PlanDataset.cellIDs), ids == plan.cells.map(\.identity.id) {
                return
            }
        }
        try ResultsIndex.write(StudyPlan(resolved, layout: layout, verify: false), resolved: resolved, runtime: runtime, gitCommit: Self.gitCommit())
    }

    /// `git rev-parse HEAD` in the current directory, if git is there and it is a repository.
    static func gitCommit() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "rev-parse", "HEAD"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    // MARK: Shared pieces

    /// A model with the study's shape, room for the largest batch and for virtual tokens
    /// (maxP = context length, the most any method may use), holding `weights`.
    func makeModel(weights: [Float]? = nil) -> TransformerModel {
        let model = TransformerModel(config: config, maxB: resolved.maxBatch, maxT: config.contextLength, maxP: config.contextLength)
        if let weights {
            precondition(weights.count == model.parameters.count, "makeModel: \(weights.count) weights for \(model.parameters.count) parameters")
            weights.withUnsafeBufferPointer { model.parameters.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
        }
        return model
    }

    /// The fixed test examples of every column for `seed` (same seed as training data).
    func testExamples(seed: Int) -> [[Example]] {
        resolved.columns.map { $0.task.examples(split: .test, count: $0.testCount, seed: UInt64(seed)) }
    }

    /// Metrics of every column in order; `moduleFor(column)` may swap another module in first.
    ///
    /// `reference` is the base model, for KL(base ‖ tuned) on language-modelling columns; without
    /// one (the base's own row) those columns get KL = 0.
    func evaluateColumns(trainer: Trainer, examples: [[Example]], reference: TransformerModel? = nil,
                         prepare: (Int) -> Void = { _ in }, finish: (Int) -> Void = { _ in }) throws -> [TaskMetrics] {
        var row: [TaskMetrics] = []
        for (c, column) in resolved.columns.enumerated() {
            prepare(c)
            defer { finish(c) }
            var metrics = try TaskMetrics.evaluate(column.task, trainer: trainer, examples: examples[c],
                                                   batchSize: study.evaluation.batch, tokenizer: resolved.tokenizer,
                                                   reference: reference)
            if reference == nil && column.task.isLanguageModelling { metrics.klFromBase = 0 }
            if column.decodesGreedily {
                metrics.greedyExactMatch = try GreedyDecoding.exactMatch(column.task, trainer: trainer, examples: examples[c],
                                                                         batchSize: study.evaluation.batch, tokenizer: resolved.tokenizer)
            }
            row.append(metrics)
        }
        return row
    }

    /// Writes one row of metrics under `group/eval/{skills,tasks}/NAME`.
    func writeEvaluation(_ row: [TaskMetrics], to group: HDF5Group) throws {
        for (column, metrics) in zip(resolved.columns, row) {
            let g = try group.createGroup("eval/\(column.kind == .skill ? "skills" : "tasks")/\(Self.groupName(column.name))")
            try metrics.write(to: g)
        }
    }

    func readEvaluation(from group: HDF5Group) throws -> [TaskMetrics] {
        try resolved.columns.map { column in
            try TaskMetrics(readFrom: group.group("eval/\(column.kind == .skill ? "skills" : "tasks")/\(Self.groupName(column.name))"))
        }
    }
}

/// What `StudyRunner.run()` did.
public struct StudyRunReport: Sendable {
    public var output: URL
    /// Cells trained in this run, and cells found in the file and skipped.
    public var computedCells: Int
    public var skippedCells: Int
    /// The progress handler asked to stop before every cell was done.
    public var stopped: Bool
    /// One row per method configuration, read from the file (every completed cell).
    public var summary: [StudySummary.Row]
    public var wallTime: Double
    /// Parts recomputed because they changed or were damaged, one line each.
    public var notes: [String] = []
}

/// Emits progress events for one phase and turns `.stop` into `StopRequested`.
struct ProgressState {
    let handler: RunnerProgressHandler?
    var value: RunnerProgress
    var start = ContinuousClock.now
    /// The claim of the part being computed, kept alive as progress is reported.
    var lock: PartLock?

    init(handler: RunnerProgressHandler?, phase: String, cellIndex: Int, cellCount: Int) {
        self.handler = handler
        value = RunnerProgress(event: .baseStarted, phase: phase, cellIndex: cellIndex, cellCount: cellCount,
                               taskIndex: 0, taskCount: 0, step: 0, totalSteps: 0, loss: .nan,
                               tokensPerSecond: 0, elapsed: 0)
    }

    mutating func emit(_ event: RunnerProgress.Event) throws {
        lock?.refresh()
        guard let handler else { return }
        value.event = event
        value.elapsed = RunnerClock.seconds(since: start)
        if handler(value) == .stop { throw StudyRunner.StopRequested() }
    }
}
