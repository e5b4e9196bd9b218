import ArgumentParser
import Foundation
import Workbench

/// `workbench export RESULTS.h5 --format csv|jsonl -o DIR`: the study's tidy tables, one file
/// each under the table's own name, and a README describing every column.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a study's results as tidy CSV or JSON-lines tables (pandas loads them without arguments), with a README of every column.",
        discussion: "One file per table, always under the table's name (spectrum.csv, …). Analysis tables are those stored by the analysis commands (the latest run of each); their `analysis_options` column records the filter and options they were computed with. --method, --label, --seed, --task and --matrix filter every table.")

    @Argument(help: "A study results file written by `workbench run`.")
    var results: String

    @OptionGroup var cells: CellFilterOptions

    @Option(help: "csv or jsonl.")
    var format: String = "csv"

    @Option(name: [.customShort("o"), .long, .customLong("out")], help: "Folder to write the tables and README.md into (created if missing); --out is the old spelling.")
    var output: String

    func run() throws {
        try runCommand("export") {
            guard let format = StudyExport.Format(rawValue: format) else {
                throw AnalysisError.invalidOption(name: "format", value: format, reason: "choose csv or jsonl")
            }
            let results = try StudyResults(url: URL(fileURLWithPath: self.results))
            let tables = try StudyExport.tables(of: results, filter: cells.filter)
            let files = try StudyExport.write(tables, format: format, to: URL(fileURLWithPath: output), source: results.url.path)
            for (table, url) in zip(tables, files) { print("\(url.path)  (\(table.rows.count) rows)") }
            print(files.last!.path)
        }
    }
}
