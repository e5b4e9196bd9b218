import ArgumentParser
import Workbench

@main
struct WorkbenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workbench",
        abstract: "Measure how much each fine-tuning method forgets, and whether ΔW is low-rank.",
        version: WorkbenchInfo.version,
        subcommands: [RunCommand.self, PlanCommand.self, FetchCommand.self, TokenizeCommand.self, GenerateCommand.self, ScoreCommand.self, SlurmCommand.self, VerifyCommand.self, SmokeCommand.self, InspectCommand.self, BenchCommand.self, ForgettingCommand.self, SpectrumCommand.self, LowRankCommand.self, SubspaceCommand.self, NF4Command.self, ExportCommand.self, ReportCommand.self])

    /// Accepted before the subcommand name too (`workbench --threads 1 bench`).
    @OptionGroup var runtime: RuntimeOptions

    /// Applies the OpenBLAS kernel and thread choice (possibly re-executing the process once),
    /// then runs ArgumentParser as usual.
    static func main() {
        BLASKernelLauncher.applyAtProcessStart()
        main(nil)
    }
}
