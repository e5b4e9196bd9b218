import ArgumentParser
import Foundation
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
        HDF5File.prepareProcess()
        BLASKernelLauncher.applyAtProcessStart()
        if let message = unknownCommand(in: Array(CommandLine.arguments.dropFirst())) {
            FileHandle.standardError.write(Data((message + "\n").utf8))
            Foundation.exit(64)
        }
        main(nil)
    }

    /// The message for a first word that names no subcommand (options before it and their
    /// values skipped), with the closest name as a suggestion; nil when the word is a command
    /// or there is none (help, version and option errors stay ArgumentParser's).
    static func unknownCommand(in arguments: [String]) -> String? {
        let names = configuration.subcommands.map { $0._commandName } + ["help"]
        var i = 0
        while i < arguments.count {
            let word = arguments[i]
            if word == "--threads" || word == "--blas-kernel" { i += 2; continue }
            if word.hasPrefix("-") { return nil }
            if names.contains(word) { return nil }
            let suggestion = ClosestName.match(for: word, among: names).map { " Did you mean '\($0)'?" } ?? ""
            return "workbench: '\(word)' is not a command.\(suggestion) Commands: \(names.dropLast().joined(separator: ", "))."
        }
        return nil
    }
}
