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
        let runner = try studyRunner(study, output: output, command: "plan")
        let plan = runner.plan(verify: verify)
        print(json ? plan.json() : plan.rendered(), terminator: json ? "" : "\n")
        if !json, let estimate = try? runner.resolved.study.memoryEstimate() {
            print("Memory of the largest cell (estimated upper bound): \(estimate.description)")
        }
    }
}

/// The runner of a study file, for commands that only plan (`plan`, `slurm`): a study error is
/// printed as one line and exits 1.
func studyRunner(_ study: String, output: String?, command: String) throws -> StudyRunner {
    do {
        let loaded = try Study.load(contentsOf: study)
        return try StudyRunner(study: loaded, output: output.map { URL(fileURLWithPath: $0) }, runtime: RuntimeInfo.current(requested: .inherit))
    } catch {
        throw commandFailure(command, error)
    }
}
