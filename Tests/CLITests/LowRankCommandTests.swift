import ArgumentParser
import Foundation
import Testing
@testable import workbench_cli
import Workbench

@Suite("CLI: workbench lowrank")
struct LowRankCommandTests {
    @Test("lowrank parses the shared analysis options, comma-separated ranks and modes, and the metric")
    func parsing() throws {
        let command = try WorkbenchCommand.parseAsRoot(
            ["lowrank", "r.h5", "--seed", "1", "--ranks", "0,2,8", "--modes", "all,mlp.fc", "--metric", "token_accuracy", "--json"])
        let lowrank = try #require(command as? LowRankCommand)
        #expect(lowrank.options == LowRankOptions(filter: AnalysisFilter(seeds: [1]), ranks: [0, 2, 8], modes: ["all", "mlp.fc"],
                                                  metric: .tokenAccuracy))
        #expect(lowrank.analysis.json && lowrank.analysis.results == "r.h5")
        let defaults = try #require(try WorkbenchCommand.parseAsRoot(["lowrank", "r.h5"]) as? LowRankCommand)
        #expect(defaults.options == LowRankOptions())
    }

    @Test("bad ranks or modes are argument errors naming the value")
    func badOptions() {
        #expect(throws: (any Error).self) { try WorkbenchCommand.parseAsRoot(["lowrank", "r.h5", "--ranks", "1,x"]) }
        #expect(throws: (any Error).self) { try WorkbenchCommand.parseAsRoot(["lowrank", "r.h5", "--modes", "attn.z"]) }
        #expect(throws: (any Error).self) { try WorkbenchCommand.parseAsRoot(["lowrank", "r.h5", "--ranks", "-1"]) }
    }

    @Test("a file that is not a study results file makes lowrank exit with code 1")
    func notAStudyFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("lowrank-\(UUID().uuidString).h5")
        let command = try LowRankCommand.parse([url.path])
        let exit = try #require(throws: ExitCode.self) { try command.run() }
        #expect(exit == ExitCode(1))
    }
}
