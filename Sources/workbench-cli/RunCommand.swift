import ArgumentParser
import Foundation
import Workbench

/// `workbench run STUDY.yaml`: the main job — pretrain, fine-tune every method over the tasks,
/// evaluate, store everything in one HDF5 file (resumable), print a summary.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a study: base model per seed, every method over every task, results in one HDF5 file.",
        discussion: "An interrupted run resumes where it stopped when started again with the same study file.")

    @OptionGroup var runtime: RuntimeOptions

    @Argument(help: "The study file (YAML), e.g. studies/quickstart.yaml.")
    var study: String

    @Option(help: "Results file (default: the study's `output`).")
    var output: String?

    @Flag(help: "Start over: replace an existing results file instead of resuming it.")
    var force = false

    func run() throws {
        let runner: StudyRunner
        do {
            let loaded = try Study.load(contentsOf: study)
            runner = try StudyRunner(study: loaded, output: output.map { URL(fileURLWithPath: $0) }, force: force,
                                     runtime: RuntimeInfo.current(requested: runtime.choice),
                                     progress: ProgressPrinter().handle)
        } catch let error as StudyError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
        let report: StudyRunReport
        do {
            report = try runner.run()
        } catch let error as RunnerError {
            FileHandle.standardError.write(Data(("error: " + error.description + "\n").utf8))
            throw ExitCode(1)
        }
        print(StudySummary.table(report.summary))
        print("results: \(report.output.path) (\(report.computedCells) cells computed, \(report.skippedCells) resumed, \(String(format: "%.1f", report.wallTime)) s)")
    }
}

/// Draws progress on stderr: one line per phase redrawn in place on a terminal, plain lines
/// every few seconds otherwise.
final class ProgressPrinter {
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private var lastDraw = ContinuousClock.now - .seconds(60)
    private var lastPhase = ""

    func handle(_ progress: RunnerProgress) -> RunnerControl {
        let now = ContinuousClock.now
        let final = progress.event != .step
        let interval: Duration = isTerminal ? .milliseconds(100) : .seconds(10)
        if progress.phase != lastPhase, isTerminal, !lastPhase.isEmpty, progress.event == .step { write("\n") }
        guard final || now - lastDraw >= interval else { return .proceed }
        lastDraw = now
        lastPhase = progress.phase
        let line = progress.line()
        if isTerminal {
            write("\r\u{1B}[K" + line + (final && progress.event != .cellStarted && progress.event != .baseStarted ? "\n" : ""))
        } else {
            write(line + "\n")
        }
        return .proceed
    }

    private func write(_ text: String) { FileHandle.standardError.write(Data(text.utf8)) }
}
