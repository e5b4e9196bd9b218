import ArgumentParser
import Foundation
import Workbench

/// `workbench spectrum RESULTS.h5`: the SVD rank spectrum of every stored ΔW, of every task's
/// own increment, and of the base weights W0.
struct SpectrumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectrum",
        abstract: "Rank spectrum of ΔW (cumulative and per-task increment) and W0: stable rank, effective rank, energy ranks, numerical rank — per matrix, and mean ± std across seeds.")

    @OptionGroup var options: AnalysisOptions

    @Option(name: .customLong("top-k"), help: "Only the top K singular values, by a seeded randomized SVD (energy ranks still refer to ‖A‖²_F).")
    var topK: Int?

    func run() throws {
        try runAnalysisCommand("spectrum") {
            let results = try options.open()
            var report = try SpectrumAnalysis.run(results, filter: options.filter, topK: topK, recompute: options.recompute)
            report.displayTables = SpectrumAnalysis.display(report.tables)
            try options.emit(report)
        }
    }
}
