import Foundation
import PEFTEngine
@testable import Workbench

/// A study small enough to run in well under a second in debug: d_model 16, one layer,
/// context 24, ~10 steps per phase, two methods (full, lora), two tasks, 16 test examples.
/// A two-task study on a one-layer model. `store` defaults to keeping everything (dense ΔW and
/// every stage's weights), which the layout tests read directly; the store-policy tests pass others.
func tinyStudyText(methods: String = "  - {method: full, lr: 3.0e-4}\n  - {method: lora, r: 2, lora_alpha: 4}\n",
                   trainingSteps: Int = 8, store: String = "{delta: dense, weights: every}") -> String {
    """
    name: tiny
    seeds: [0]
    model: {d_model: 16, n_layers: 1, n_heads: 2, d_ff: 32, context_length: 24}
    base:
      pretrain: {steps: 10, lr: 3.0e-3, batch: 8, warmup: 2}
      skills: [{kind: copy, max_length: 5}, {kind: facts, size: 16}]
    training: {steps: \(trainingSteps), lr: 1.0e-3, batch: 8}
    evaluation: {test_size: 16, batch: 16}
    tasks:
      - {name: rev, kind: reverse, max_length: 5}
      - {name: mod7, kind: modular_add, modulus: 7, max_operand: 20}
    methods:
    \(methods)store: \(store)
    output: results.h5

    """
}

/// Writes `text` as `study.yaml` in `folder` and loads it.
func writeStudy(_ text: String, in folder: URL) throws -> Study {
    let path = folder.appendingPathComponent("study.yaml").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return try Study.load(contentsOf: path, workingDirectory: folder.path)
}

/// Runs `study` into `folder/results.h5`, counting the progress events by kind.
final class RunRecorder {
    var events: [RunnerProgress.Event: Int] = [:]
    var startedCells: [String] = []
    /// Answer `.stop` at the n-th `.cellFinished` (1-based); nil: never.
    var stopAfterCell: Int?

    func handle(_ p: RunnerProgress) -> RunnerControl {
        events[p.event, default: 0] += 1
        if p.event == .cellStarted { startedCells.append(p.phase) }
        if p.event == .cellFinished, let n = stopAfterCell, events[.cellFinished] == n { return .stop }
        return .proceed
    }
}


func runStudy(_ study: Study, output: URL, force: Bool = false, recorder: RunRecorder = RunRecorder()) throws -> StudyRunReport {
    try StudyRunner(study: study, output: output, force: force, runtime: RuntimeInfo.current(requested: .inherit),
                    progress: recorder.handle).run()
}

/// The exact-match matrix of one cell, with its shape.
func accuracyMatrix(_ url: URL, cell: String) throws -> HDF5Array<Double> {
    let file = try HDF5File.open(url)
    defer { try? file.close() }
    return try file.root().readArray("\(cell)/accuracy", as: Double.self)
}
