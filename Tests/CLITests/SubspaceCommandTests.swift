import ArgumentParser
import Testing
@testable import workbench_cli

@Suite("workbench subspace: arguments")
struct SubspaceCommandTests {
    @Test("options and filters parse into the analysis settings; defaults are the documented ones")
    func parsing() throws {
        let parsed = try WorkbenchCommand.parseAsRoot([
            "subspace", "r.h5", "--matrix", "attn.q", "--seed", "1", "--rank", "4", "--intruder-k", "6",
            "--epsilon", "0.4", "--null-samples", "50", "--interference-rank", "2", "--json",
        ])
        let command = try #require(parsed as? SubspaceCommand)
        #expect(command.options.results == "r.h5" && command.options.cells.matrices == ["attn.q"] && command.options.cells.seeds == [1])
        #expect(command.rank == 4 && command.intruderK == 6 && command.epsilon == 0.4)
        #expect(command.nullSamples == 50 && command.interferenceRank == 2 && command.options.json)

        let defaults = try #require(try WorkbenchCommand.parseAsRoot(["subspace", "r.h5"]) as? SubspaceCommand)
        #expect(defaults.rank == 8 && defaults.intruderK == 10 && defaults.epsilon == nil)
        #expect(defaults.nullSamples == 200 && defaults.interferenceRank == 4 && !defaults.options.recompute)
    }

    @Test("help names every option")
    func help() {
        let help = SubspaceCommand.helpMessage()
        for option in ["--rank", "--interference-rank", "--intruder-k", "--epsilon", "--null-samples", "--matrix", "--recompute", "--json"] {
            #expect(help.contains(option), "help lacks \(option)")
        }
    }
}
