import ArgumentParser
import Foundation
import Workbench

/// `workbench plan STUDY.yaml`: the bases and cells with their indices (Slurm array indices),
/// what each depends on, and which are complete, changed or damaged.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "List a study's bases and cells with their indices (from 0, like Slurm arrays), dependencies and state.")

    @Argument(help: "The study file (YAML).")
    var study: String

    @Option(name: [.customShort("o"), .long], help: "Results index (default: the study's `output`).")
    var output: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "Check every present file's checksum too (slower; `run` and `verify` always do).")
    var verify = false

    func run() throws {
        do {
            let loaded = try Study.load(contentsOf: study)
            let runner = try StudyRunner(study: loaded, output: output.map { URL(fileURLWithPath: $0) }, runtime: RuntimeInfo.current(requested: .inherit))
            let plan = runner.plan(verify: verify)
            print(json ? plan.json() : plan.rendered(), terminator: json ? "" : "\n")
        } catch let error as StudyError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
    }
}

/// `workbench slurm STUDY.yaml`: an sbatch script that runs the study as job arrays.
struct SlurmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slurm",
        abstract: "Print a bash script that submits the study as Slurm job arrays (bases, then cells, then a check).",
        discussion: "Run the printed script on a login node (`workbench slurm S.yaml > submit.sh && bash submit.sh`). Resubmitting it redoes only unfinished parts.")

    @Argument(help: "The study file (YAML).")
    var study: String

    @Option(name: [.customShort("o"), .long], help: "Results index (default: the study's `output`).")
    var output: String?

    @Option(help: "Slurm partition.") var partition: String?
    @Option(help: "Time limit per task, e.g. 02:00:00.") var time: String?
    @Option(help: "CPUs per task.") var cpusPerTask: Int = 1
    @Option(help: "Memory per task, e.g. 8G.") var mem: String?
    @Option(help: "Slurm account.") var account: String?
    @Option(help: "BLAS threads per task (default: --cpus-per-task).") var taskThreads: Int?
    @Option(help: "Folder for the jobs' logs.") var logs = "slurm-logs"

    func validate() throws {
        guard cpusPerTask >= 1 else { throw ValidationError("--cpus-per-task must be at least 1") }
    }

    func run() throws {
        do {
            let loaded = try Study.load(contentsOf: study)
            let runner = try StudyRunner(study: loaded, output: output.map { URL(fileURLWithPath: $0) }, runtime: RuntimeInfo.current(requested: .inherit))
            let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.resolvingSymlinksInPath().path
            let options = SlurmScript.Options(partition: partition, time: time, cpusPerTask: cpusPerTask, mem: mem, account: account,
                                              threads: taskThreads ?? cpusPerTask, executable: executable,
                                              logs: URL(fileURLWithPath: logs).standardizedFileURL.path)
            print(SlurmScript.make(study: URL(fileURLWithPath: study).standardizedFileURL.path, output: runner.output.path,
                                   plan: runner.plan(verify: false), options: options), terminator: "")
        } catch let error as StudyError {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(1)
        }
    }
}

/// `workbench verify RESULTS.h5`: the study's fsck.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every file of a study: checksums, completeness, membership; exit 1 if anything is missing or damaged.")

    @Argument(help: "The study's results index (e.g. results/quickstart.h5).")
    var results: String

    func run() throws {
        let report: StudyVerification
        do {
            report = try StudyVerification.run(index: URL(fileURLWithPath: results))
        } catch let error as AnalysisError {
            FileHandle.standardError.write(Data(("error: " + error.description + "\n").utf8))
            throw ExitCode(1)
        }
        print(report.rendered())
        if !report.isSound { throw ExitCode(1) }
    }
}
