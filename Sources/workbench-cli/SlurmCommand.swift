import ArgumentParser
import Foundation
import Workbench

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
        let runner = try studyRunner(study, output: output, command: "slurm")
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.resolvingSymlinksInPath().path
        let options = SlurmScript.Options(partition: partition, time: time, cpusPerTask: cpusPerTask, mem: mem, account: account,
                                          threads: taskThreads ?? cpusPerTask, executable: executable,
                                          logs: URL(fileURLWithPath: logs).standardizedFileURL.path)
        print(SlurmScript.make(study: URL(fileURLWithPath: study).standardizedFileURL.path, output: runner.output.path,
                               plan: runner.plan(verify: false), options: options), terminator: "")
    }
}

