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

/// Draws a study's progress through a `StatusLine`: one line per phase, redrawn in place on a
/// terminal; plain lines every 10 s otherwise. Events other than training steps (a cell or
/// base starting or ending) are always shown; the end of one closes its line.
final class ProgressPrinter {
    private let status: StatusLine
    private var lastPhase = ""

    init(status: StatusLine = StatusLine()) { self.status = status }

    func handle(_ progress: RunnerProgress) -> RunnerControl {
        // A new phase's steps start below the previous phase's last line.
        if progress.phase != lastPhase, progress.event == .step { status.finish() }
        lastPhase = progress.phase
        let milestone = progress.event != .step
        let starts = progress.event == .cellStarted || progress.event == .baseStarted
        status.show(progress.line(), always: milestone, endsLine: milestone && !starts)
        return .proceed
    }
}
