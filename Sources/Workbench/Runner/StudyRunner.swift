import Foundation
import PEFTEngine

/// Runs a study: one base model per seed, then every method configuration × seed ("cell")
/// fine-tuned over the task sequence and evaluated on every skill and task after each task,
/// all stored in one HDF5 file (layout: docs/hdf5-layout.md, "Study results").
///
/// Crash safety and resume: the file is created with the study text at its root, then every
/// base and every cell is committed by its own `HDF5Transaction` (copy, write, rename). On a
/// later run with the same study text, bases and cells already in the file are read back
/// instead of recomputed; a different study text is refused (`RunnerError.studyChanged`)
/// unless `force` starts a new file. One process writes a file at a time (`OutputLock`).
///
/// Determinism: every random choice comes from the seed — model init `seed`, data
/// `examples(…, seed: seed)` for train and test of every task, batch order and method init
/// from labelled forks — so two runs with the same BLAS kernel and thread count give
/// bit-identical results.
public final class StudyRunner {
    public let resolved: ResolvedStudy
    public let output: URL
    public let force: Bool
    public let runtime: RuntimeInfo
    let progress: RunnerProgressHandler?

    /// Checks the study (throws `StudyError`) without touching the output.
    ///
    /// - Parameter output: where the results go; the study's `output` (relative to the
    ///   current directory) when nil.
    public init(study: Study, output: URL? = nil, force: Bool = false, runtime: RuntimeInfo,
                progress: RunnerProgressHandler? = nil) throws {
        resolved = try ResolvedStudy(study)
        self.output = (output ?? URL(fileURLWithPath: study.output)).standardizedFileURL
        self.force = force
        self.runtime = runtime
        self.progress = progress
    }

    var study: Study { resolved.study }
    var config: ModelConfig { resolved.config }

    /// Thrown internally when the progress handler answers `.stop`.
    struct StopRequested: Error {}

    /// One cell: a method configuration and a seed.
    struct Cell {
        var run: MethodRun
        var seed: Int
        var path: String { "runs/\(StudyRunner.groupName(run.label))/seed\(seed)" }
    }

    /// Every cell in run order: configurations in document order, seeds inside.
    var cells: [Cell] { study.runs.flatMap { run in study.seeds.map { Cell(run: run, seed: $0) } } }

    /// A label as an HDF5 link name ('/' would create a group).
    static func groupName(_ label: String) -> String { label.replacingOccurrences(of: "/", with: "∕") }

    /// Runs (or resumes) the study; returns what was done and the summary read from the file.
    public func run() throws -> StudyRunReport {
        let start = ContinuousClock.now
        try FileManager.default.createDirectory(at: output.deletingLastPathComponent(), withIntermediateDirectories: true)
        let lock = try OutputLock(output: output)
        defer { lock.release() }
        let existing = try prepareOutput()

        var computed = 0, skipped = 0, stopped = false
        do {
            var bases: [Int: BaseState] = [:]
            for seed in study.seeds { bases[seed] = try baseState(seed: seed, existing: existing) }
            let all = cells
            for (i, cell) in all.enumerated() {
                var state = ProgressState(handler: progress, phase: "\(cell.run.label) seed\(cell.seed)",
                                          cellIndex: i + 1, cellCount: all.count)
                if existing.contains(cell.path) {
                    skipped += 1
                    try state.emit(.cellSkipped)
                    continue
                }
                try runCell(cell, base: bases[cell.seed]!, progress: &state)
                computed += 1
                try state.emit(.cellFinished)
            }
        } catch is StopRequested {
            stopped = true
        }
        let summary = try StudySummary.read(from: output)
        return StudyRunReport(output: output, computedCells: computed, skippedCells: skipped, stopped: stopped,
                              summary: summary, wallTime: RunnerClock.seconds(since: start))
    }

    /// Creates the file (new study or `force`) or checks it belongs to this study; returns the
    /// paths of bases and cells already in it.
    func prepareOutput() throws -> Set<String> {
        if force || !FileManager.default.fileExists(atPath: output.path) {
            let t = try HDF5Transaction.create(at: output)
            let root = t.root
            try root.setAttribute("study_text", study.text)
            try root.setAttribute("study_name", study.name)
            try root.setAttribute("study_file", study.file)
            try root.setAttribute("column_names", .strings(resolved.columns.map(\.name)))
            try root.setAttribute("column_kinds", .strings(resolved.columns.map(\.kind.rawValue)))
            try root.setAttribute("cell_paths", .strings(cells.map(\.path)))
            if let commit = Self.gitCommit() { try root.setAttribute("git_commit", commit) }
            try runtime.write(to: root)
            try t.commit()
            return []
        }
        let file = try HDF5File.open(output)
        defer { try? file.close() }
        guard try file.isComplete() else { throw RunnerError.incompleteOutput(output: output.path) }
        let root = try file.root()
        guard try root.hasAttribute("study_text") else { throw RunnerError.notAStudyFile(output: output.path) }
        guard try root.stringAttribute("study_text") == study.text else { throw RunnerError.studyChanged(output: output.path) }
        var present = Set<String>()
        for seed in study.seeds where try root.contains("seed\(seed)/base") { present.insert("seed\(seed)/base") }
        for cell in cells where try root.contains(cell.path) { present.insert(cell.path) }
        return present
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
    func evaluateColumns(trainer: Trainer, examples: [[Example]], prepare: (Int) -> Void = { _ in },
                         finish: (Int) -> Void = { _ in }) throws -> [TaskMetrics] {
        var row: [TaskMetrics] = []
        for (c, column) in resolved.columns.enumerated() {
            prepare(c)
            defer { finish(c) }
            row.append(try TaskMetrics.evaluate(column.task, trainer: trainer, examples: examples[c],
                                                batchSize: study.evaluation.batch))
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
}

/// Emits progress events for one phase and turns `.stop` into `StopRequested`.
struct ProgressState {
    let handler: RunnerProgressHandler?
    var value: RunnerProgress
    var start = ContinuousClock.now

    init(handler: RunnerProgressHandler?, phase: String, cellIndex: Int, cellCount: Int) {
        self.handler = handler
        value = RunnerProgress(event: .baseStarted, phase: phase, cellIndex: cellIndex, cellCount: cellCount,
                               taskIndex: 0, taskCount: 0, step: 0, totalSteps: 0, loss: .nan,
                               tokensPerSecond: 0, elapsed: 0)
    }

    mutating func emit(_ event: RunnerProgress.Event) throws {
        guard let handler else { return }
        value.event = event
        value.elapsed = RunnerClock.seconds(since: start)
        if handler(value) == .stop { throw StudyRunner.StopRequested() }
    }
}
