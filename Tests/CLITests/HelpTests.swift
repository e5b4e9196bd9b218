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
}
