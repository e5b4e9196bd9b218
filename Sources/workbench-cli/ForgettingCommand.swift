import ArgumentParser
import Foundation
import Workbench

/// `workbench forgetting RESULTS.h5`: accuracy matrix metrics per method, mean ± std across seeds.
struct ForgettingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forgetting",
        abstract: "Retained performance: average accuracy, BWT/FWT, forgetting (Chaudhry and Avalanche conventions), learning, base-skill retention, learned vs forgotten — per method, mean ± std across seeds.")

    @OptionGroup var options: AnalysisOptions

    @Option(help: "metric (default: each column's own measure — exact match, probe accuracy, or mean NLL where lower is better), exact_match or token_accuracy.")
    var metric: String = "metric"

    func run() throws {
        try runCommand("forgetting") {
            guard let metric = ForgettingAnalysis.Metric(rawValue: metric) else {
                throw AnalysisError.invalidOption(name: "metric", value: metric, reason: "choose metric, exact_match or token_accuracy")
            }
            guard options.cells.matrices.isEmpty else {
                throw AnalysisError.invalidOption(name: "matrix", value: options.cells.matrices.joined(separator: ","),
                                                  reason: "forgetting reads evaluation results, not weights; --matrix applies to spectrum, lowrank, subspace and nf4")
            }
            let results = try options.open()
            var report = try ForgettingAnalysis.run(results, filter: options.filter, metric: metric, recompute: options.recompute)
            report.displayTables = ForgettingAnalysis.display(report.tables)
            try options.emit(report)
        }
    }
}
