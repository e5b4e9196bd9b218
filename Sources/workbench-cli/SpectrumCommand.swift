import ArgumentParser
import Foundation
import Workbench

/// `workbench spectrum RESULTS.h5`: the SVD rank spectrum of every stored ΔW, of every task's
/// own increment, and of the base weights W0.
///
/// `workbench spectrum --base DIR --tuned DIR`: the spectrum of ΔW = tuned − base of two
/// safetensors checkpoints; `workbench spectrum --adapter DIR [--base DIR]`: of every module of a
/// peft LoRA/DoRA adapter, with intruder dimensions and amplification when the base is given
/// (`CheckpointAnalysis`).
struct SpectrumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spectrum",
        abstract: "Rank spectrum of ΔW (cumulative and per-task increment) and W0: stable rank, effective rank, energy ranks, numerical rank — per matrix, and mean ± std across seeds.",
        discussion: """
            Modes (exactly one): RESULTS (a study results file); --base B --tuned T (safetensors \
            checkpoints, a file or a folder with a sharded index: ΔW = T − B per 2-D tensor); \
            --adapter A [--base B] (a peft adapter folder: ΔW = s·B·A per module; with the base \
            also intruder dimensions and the amplification factor). Checkpoint modes select tensors \
            with --match REGEX and print progress ("tensor i/n name") on stderr.
            """)

    @OptionGroup var options: OptionalResultsOptions

    @Option(name: .customLong("top-k"), help: "Only the top K singular values, by a seeded randomized SVD (energy ranks still refer to ‖A‖²_F).")
    var topK: Int?

    @OptionGroup var checkpoints: CheckpointSourceOptions

    @Option(name: .customLong("intruder-k"), help: "With --adapter and --base: top singular vectors of W0 + ΔW tested for intruders.")
    var intruderK = 10

    @Option(help: "With --adapter and --base: cosine threshold ε of an intruder dimension (default: per W0, the largest ε on 0.05…0.95 at which at most 5 % of random directions would count).")
    var epsilon: Double?

    func validate() throws {
        try checkpoints.validate(resultsGiven: options.results != nil)
        if options.results != nil {
            guard options.match == nil else { throw ValidationError("--match applies to checkpoints; with a results file use --matrix") }
            guard options.export == nil else { throw ValidationError("--export applies to checkpoints; for a results file use `workbench export RESULTS -o DIR`") }
            return
        }
        try options.rejectStudyFilters()
    }

    func run() throws {
        try runCommand("spectrum") {
            if options.results != nil {
                let options = self.options.analysisOptions
                let results = try options.open()
                var report = try SpectrumAnalysis.run(results, filter: options.filter, topK: topK, recompute: options.recompute)
                report.displayTables = SpectrumAnalysis.display(report.tables)
                try options.emit(report)
                return
            }
            let report = try checkpoints.spectrum(match: options.match, topK: topK, intruderK: intruderK, epsilon: epsilon)
            try options.emitCheckpointReport(report, source: checkpoints.adapter ?? "\(checkpoints.base!) vs \(checkpoints.tuned!)")
        }
    }
}

/// `AnalysisOptions` with RESULTS optional, plus `--match`, for the commands (`spectrum`, `nf4`)
/// that read either a results file or checkpoints.
struct OptionalResultsOptions: ParsableArguments {
    @Argument(help: "A study results file written by `workbench run` (omit for the checkpoint modes).")
    var results: String?

    @OptionGroup var cells: CellFilterOptions

    @Option(help: "Checkpoint modes: only tensors whose name matches this regular expression.")
    var match: String?

    @Flag(help: "Print JSON instead of tables.")
    var json = false

    @Flag(help: "Compute again even if the results file holds this analysis for these options.")
    var recompute = false

    @Option(help: "Checkpoint modes: also write the tables as tidy files into this folder (with a README), like `workbench export`.")
    var export: String?

    @Option(help: "With --export: csv or jsonl.")
    var format: String = "csv"

    /// Prints a checkpoint-mode report and, with --export, writes its tables (as `workbench export` does).
    func emitCheckpointReport(_ report: AnalysisReport, source: String) throws {
        try analysisOptions.emit(report)
        guard let export else { return }
        guard let format = StudyExport.Format(rawValue: format) else {
            throw AnalysisError.invalidOption(name: "format", value: format, reason: "choose csv or jsonl")
        }
        let files = try StudyExport.write(report.tables, format: format, to: URL(fileURLWithPath: export), source: source)
        FileHandle.standardError.write(Data("wrote \(files.count - 1) table(s) and README.md to \(export)\n".utf8))
    }

    /// The same settings as the shared `AnalysisOptions` (RESULTS "" when absent).
    var analysisOptions: AnalysisOptions {
        var o = AnalysisOptions()
        o.results = results ?? ""
        o.cells = cells
        o.json = json; o.recompute = recompute
        return o
    }

    /// The study filters mean nothing for checkpoints: say so instead of ignoring them.
    func rejectStudyFilters() throws {
        let given = cells.given + (recompute ? ["--recompute"] : [])
        guard given.isEmpty else {
            throw ValidationError("\(given.joined(separator: ", ")): only with a results file; with checkpoints use --match REGEX")
        }
    }
}
