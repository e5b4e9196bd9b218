import ArgumentParser
import Foundation
import Workbench

/// `workbench report RESULTS.h5 [-o report.html] [--figures DIR]`: one self-contained HTML page
/// with every figure of the study, each also as a standalone SVG.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Draw a study's figures (metric heatmaps, learned vs forgotten, ΔW spectra, rank-k recovery, φ, intruders, 4-bit error, loss curves) into one self-contained HTML file.",
        discussion: "Analyses not yet stored in the results file are run first with their default options (lowrank: mode `all` only) and stored; the log says which ran and how long they took. --skip leaves an analysis and its figures out.")

    @Argument(help: "A study results file written by `workbench run` (omit with --base/--tuned or --adapter).")
    var results: String?

    @OptionGroup var checkpoints: CheckpointSourceOptions

    @Option(help: "Checkpoint mode: only tensors whose name matches this regular expression.")
    var match: String?

    @Option(name: [.short, .long], help: "The HTML file to write (default: RESULTS without .h5, plus -report.html).")
    var output: String?

    @Option(help: "Also write every figure as a standalone SVG into this folder.")
    var figures: String?

    @Option(help: "Leave out these analyses (comma-separated): forgetting, spectrum, lowrank, subspace, nf4.")
    var skip: String = ""

    func validate() throws {
        try checkpoints.validate(resultsGiven: results != nil)
        if results != nil && match != nil { throw ValidationError("--match applies to checkpoints") }
        if checkpoints.isGiven && output == nil { throw ValidationError("give --output FILE.html in checkpoint mode") }
    }

    func run() throws {
        try runCommand("report") {
            let report: StudyReport, html: URL
            if let results {
                let resultsURL = URL(fileURLWithPath: results)
                let skipped = Set(skip.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
                report = try StudyReport.build(try StudyResults(url: resultsURL), skip: skipped) { line in
                    FileHandle.standardError.write(Data(("report: " + line + "\n").utf8))
                }
                html = output.map { URL(fileURLWithPath: $0) } ?? resultsURL.deletingPathExtension().appendingPathExtension("report.html")
            } else {
                // --base/--tuned or --adapter [--base]: the spectrum analysis of the checkpoints, drawn.
                report = StudyReport.checkpoint(try checkpoints.spectrum(match: match), source: checkpoints.sourceName)
                html = URL(fileURLWithPath: output!)
            }
            let written = try report.write(to: html, figureFolder: figures.map { URL(fileURLWithPath: $0) })
            print("\(html.path)  (\(report.figures.count) figures)")
            if let figures { print("\(written.count - 1) SVG files in \(figures)") }
        }
    }
}
