import ArgumentParser
import Foundation
import Workbench

/// `workbench lowrank RESULTS.h5`: the direct test of the low-rank hypothesis — full
/// fine-tuning's ΔW truncated to rank k and re-evaluated, beside LoRA at rank r
/// (`LowRankTest`). Progress on stderr, tables (or JSON) on stdout.
struct LowRankCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lowrank",
        abstract: "Truncate full fine-tuning's ΔW to rank k, re-evaluate, and compare with LoRA at rank r.",
        discussion: """
            For each full cell and stage, every linear matrix becomes W0 + trunc_k(ΔW) (best rank-k, \
            from the SVD); embeddings, LayerNorms, biases and lm_head keep their trained values. Modes: \
            `all` truncates every matrix at once, a matrix type (attn.q, …, mlp.proj; mlp.gate, mlp.up, mlp.down) only that type. \
            Results are stored under /analysis/lowrank in the results file and reused by later runs.
            """)

    @OptionGroup var analysis: AnalysisOptions

    @Option(help: "Ranks k, comma-separated (default: 0, powers of two, full).", transform: LowRankCommand.integers)
    var ranks: [Int]?

    @Option(help: "Modes, comma-separated: all, matrices_only (as all, with embeddings, norms, biases and head set back to the base's), attn.q, attn.k, attn.v, attn.o, mlp.fc, mlp.proj (GPT-2), mlp.gate, mlp.up, mlp.down (LLaMA) (default: all that the model has).",
            transform: LowRankCommand.names)
    var modes: [String] = LowRankOptions.allModes

    @Option(help: "Measured: metric (each column's own measure as a score: exact match, probe accuracy, −NLL for running text), exact_match or token_accuracy.")
    var metric: LowRankOptions.Metric = .columnMetric

    var options: LowRankOptions { LowRankOptions(filter: analysis.filter, ranks: ranks, modes: modes, metric: metric) }

    func validate() throws {
        do { try options.validate() } catch let error as AnalysisError { throw ValidationError(error.description) }
    }

    func run() throws {
        try runCommand("lowrank") {
            let results = try analysis.open()
            let status = StatusLine()
            let report = try LowRankTest.run(results, options: options, recompute: analysis.recompute) { done, total in
                status.update("lowrank: \(done)/\(total) evaluations", done: done, total: total)
            }
            status.finish()
            try analysis.emit(report)
        }
    }

    static func integers(_ text: String) throws -> [Int] {
        try text.split(separator: ",", omittingEmptySubsequences: false).map { part in
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let k = Int(trimmed) else { throw ValidationError("--ranks: '\(trimmed)' is not an integer (e.g. --ranks 0,1,2,4)") }
            return k
        }
    }

    static func names(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    }
}

extension LowRankOptions.Metric: ExpressibleByArgument {}
