import ArgumentParser
import Foundation
import Workbench

/// `workbench subspace RESULTS.h5`: where each method's ΔW lives — similarity between
/// configurations and seeds, interference between tasks, amplification, intruder dimensions.
struct SubspaceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subspace",
        abstract: "Subspaces of ΔW: φ similarity between configurations and seeds (LoRA §7.2), principal angles between successive tasks, amplification of W₀ (LoRA §7.3), intruder dimensions — per cell, mean ± std across seeds.")

    @OptionGroup var options: AnalysisOptions

    @Option(help: "r for the amplification of configurations without an `r` (e.g. full).")
    var rank: Int = 8

    @Option(help: "r for the principal angles between successive tasks' updates.")
    var interferenceRank: Int = 4

    @Option(help: "k: leading singular vectors of W₀ + ΔW tested as intruders.")
    var intruderK: Int = 10

    @Option(help: "ε: a direction is an intruder when its max |cos| with W₀'s singular vectors is below ε (default: per matrix, the largest ε at which at most 5 % of random unit vectors count; the table's epsilon column says which).")
    var epsilon: Double?

    @Option(help: "Random unit vectors for the intruder null.")
    var nullSamples: Int = 200

    func run() throws {
        try runCommand("subspace") {
            let settings = SubspaceAnalysis.Options(rank: rank, interferenceRank: interferenceRank, intruderK: intruderK,
                                                    epsilon: epsilon, nullSamples: nullSamples)
            try settings.validate()
            let results = try options.open()
            let report = try SubspaceAnalysis.run(results, filter: options.filter, options: settings, recompute: options.recompute)
            try options.emit(report)
        }
    }
}
