import ArgumentParser
import Testing
@testable import workbench_cli

/// The command line's help and version are part of its interface.
@Suite("workbench --help")
struct HelpTests {
    @Test("root help names every subcommand and the runtime options")
    func rootHelp() {
        let help = WorkbenchCommand.helpMessage()
        for sub in WorkbenchCommand.configuration.subcommands {
            #expect(help.contains(sub.configuration.commandName ?? "?"), "help lacks \(sub)")
        }
        #expect(help.contains("--blas-kernel"))
        #expect(help.contains("--threads"))
    }

    @Test("--version prints the workbench version")
    func version() {
        #expect(WorkbenchCommand.configuration.version == "0.1.0")
    }

    @Test("an unknown --blas-kernel value is a parse error, not a crash")
    func badKernel() {
        #expect(throws: (any Error).self) { try WorkbenchCommand.parseAsRoot(["bench", "--blas-kernel", "no such!"]) }
    }

    @Test("a mistyped command gets a suggestion; commands, options and help pass through")
    func unknownCommand() {
        #expect(WorkbenchCommand.unknownCommand(in: ["spectrm", "results.h5"])?.hasPrefix("workbench: 'spectrm' is not a command. Did you mean 'spectrum'? Commands: run, plan,") == true)
        #expect(WorkbenchCommand.unknownCommand(in: ["--threads", "1", "forgeting"])?.contains("Did you mean 'forgetting'?") == true)
        #expect(WorkbenchCommand.unknownCommand(in: ["xyzzy"])?.contains("Did you mean") == false)
        #expect(WorkbenchCommand.unknownCommand(in: ["spectrum", "x.h5"]) == nil)
        #expect(WorkbenchCommand.unknownCommand(in: ["--threads", "2", "bench"]) == nil)
        #expect(WorkbenchCommand.unknownCommand(in: ["--help"]) == nil && WorkbenchCommand.unknownCommand(in: []) == nil)
        #expect(WorkbenchCommand.unknownCommand(in: ["help", "run"]) == nil)
    }
}
