import ArgumentParser
import Workbench

@main
struct WorkbenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workbench",
        abstract: "Measure how much each fine-tuning method forgets, and whether ΔW is low-rank.",
        version: WorkbenchInfo.version,
        subcommands: [InspectCommand.self])
}
