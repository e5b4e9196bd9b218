import ArgumentParser
import Testing
@testable import workbench_cli

/// `workbench spectrum` and `workbench nf4`: RESULTS or a checkpoint mode, exactly one.
@Suite("workbench spectrum / nf4: checkpoint modes")
struct CheckpointModeTests {
    static func parses(_ arguments: [String]) -> Bool {
        (try? WorkbenchCommand.parseAsRoot(arguments)) != nil
    }

    @Test("spectrum: a results file, --base with --tuned, or --adapter with an optional --base")
    func spectrumModes() throws {
        let results = try #require(try WorkbenchCommand.parseAsRoot(["spectrum", "r.h5", "--matrix", "q", "--top-k", "3"]) as? SpectrumCommand)
        #expect(results.options.results == "r.h5" && results.options.cells.matrices == ["q"] && results.topK == 3)
        #expect(results.options.analysisOptions.results == "r.h5" && results.options.analysisOptions.cells.matrices == ["q"])

        let pair = try #require(try WorkbenchCommand.parseAsRoot(["spectrum", "--base", "b", "--tuned", "t", "--match", "q_proj", "--json"]) as? SpectrumCommand)
        #expect(pair.options.results == nil && pair.checkpoints.base == "b" && pair.checkpoints.tuned == "t" && pair.options.match == "q_proj" && pair.options.json)

        let adapter = try #require(try WorkbenchCommand.parseAsRoot(["spectrum", "--adapter", "a", "--intruder-k", "4"]) as? SpectrumCommand)
        #expect(adapter.checkpoints.adapter == "a" && adapter.checkpoints.base == nil && adapter.intruderK == 4 && adapter.epsilon == nil, "ε defaults to the automatic one per W0")
        #expect(Self.parses(["spectrum", "--adapter", "a", "--base", "b"]))
        let exported = try #require(try WorkbenchCommand.parseAsRoot(["spectrum", "--adapter", "a", "--export", "out", "--format", "jsonl"]) as? SpectrumCommand)
        #expect(exported.options.export == "out" && exported.options.format == "jsonl")
    }

    @Test("spectrum: no mode, two modes, half a pair, or study filters with checkpoints are rejected")
    func spectrumRejects() {
        for arguments in [
            ["spectrum"], ["spectrum", "r.h5", "--base", "b", "--tuned", "t"], ["spectrum", "--base", "b"],
            ["spectrum", "--tuned", "t"], ["spectrum", "--adapter", "a", "--tuned", "t"],
            ["spectrum", "--base", "b", "--tuned", "t", "--seed", "1"], ["spectrum", "r.h5", "--match", "q"],
            ["spectrum", "r.h5", "--export", "out"], ["nf4", "r.h5", "--export", "out"],
        ] {
            #expect(!Self.parses(arguments), "accepted \(arguments)")
        }
    }

    @Test("nf4: a results file or --checkpoint, exactly one; --match only with --checkpoint")
    func nf4Modes() throws {
        let checkpoint = try #require(try WorkbenchCommand.parseAsRoot(["nf4", "--checkpoint", "c", "--match", "fc", "--blocksize", "128"]) as? NF4Command)
        #expect(checkpoint.checkpoint == "c" && checkpoint.options.match == "fc" && checkpoint.blocksize == 128 && checkpoint.options.results == nil)
        #expect(Self.parses(["nf4", "r.h5", "--seed", "2"]))
        for arguments in [["nf4"], ["nf4", "r.h5", "--checkpoint", "c"], ["nf4", "r.h5", "--match", "q"], ["nf4", "--checkpoint", "c", "--method", "lora"]] {
            #expect(!Self.parses(arguments), "accepted \(arguments)")
        }
    }
}
