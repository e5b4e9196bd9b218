import ArgumentParser
import Foundation
import Workbench

/// `workbench run STUDY.yaml`: the main job — pretrain, fine-tune every method over the tasks,
/// evaluate, commit each base and cell to its own file under an index (resumable), print a
/// summary. `--cells` and `--bases` run a part of the study, as Slurm array tasks do.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a study: base model per seed, every method over every task, results under one index file.",
        discussion: """
            An interrupted run resumes where it stopped when started again. Only missing, damaged or changed \
            parts are computed: adding a method or a seed runs just the new cells. `workbench plan` lists the \
            parts and their indices; `workbench slurm` writes a job array that runs them on a cluster.
            """)

    @OptionGroup var runtime: RuntimeOptions

    @Argument(help: "The study file (YAML), e.g. studies/quickstart.yaml.")
    var study: String

    @Option(help: ArgumentHelp("Memory the largest cell may need, in GiB (default: this machine's memory); a study estimated above it is refused before anything runs.", valueName: "GiB"))
    var maxMemory: Double?

    @Option(name: [.customShort("o"), .long], help: "Results file (default: the study's `output`).")
    var output: String?

    @Flag(help: "Recompute the selected parts even where a complete file exists.")
    var force = false

    @Option(help: ArgumentHelp("Run only these cells: indices from `workbench plan`, e.g. 3, 3-7, 1,4,9-11, or `slurm` for $SLURM_ARRAY_TASK_ID. Their bases must be computed.", valueName: "indices"))
    var cells: String?

    @Flag(help: "Run only the bases (pretraining), no cell.")
    var bases = false

    @Option(help: ArgumentHelp("With --bases: only these base indices (as --cells; `slurm` for $SLURM_ARRAY_TASK_ID).", valueName: "indices"))
    var baseIndex: String?

    func validate() throws {
        if cells != nil && (bases || baseIndex != nil) { throw ValidationError("--cells and --bases select different parts: give one of them") }
        if baseIndex != nil && !bases { throw ValidationError("--base-index needs --bases") }
        if let maxMemory, !(maxMemory > 0 && maxMemory.isFinite) { throw ValidationError("--max-memory must be a positive number of GiB") }
    }

    func run() throws {
        let runner: StudyRunner
        do {
            let loaded = try Study.load(contentsOf: study, memoryLimit: maxMemory.map { $0 * 1_073_741_824 })
            runner = try StudyRunner(study: loaded, output: output.map { URL(fileURLWithPath: $0) }, force: force,
                                     runtime: RuntimeInfo.current(requested: runtime.choice),
                                     progress: ProgressPrinter().handle)
        } catch {
            throw commandFailure("run", error)
        }
        let report: StudyRunReport
        do {
            let plan = runner.plan(verify: false)
            let selection = StudyRunner.Selection(
                cells: try cells.map { try StudyPlan.selection($0, count: plan.cells.count) }, basesOnly: bases,
                bases: try baseIndex.map { try StudyPlan.selection($0, count: plan.bases.count, what: "bases", option: "--base-index") })
            report = try runner.run(selection: selection)
        } catch {
            throw commandFailure("run", error)
        }
        for note in report.notes { FileHandle.standardError.write(Data((note + "\n").utf8)) }
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
