import ArgumentParser
import Foundation
import Workbench

/// `workbench export RESULTS.h5 --format csv|jsonl --out DIR`: the study's tidy tables, one file
/// each, and a README describing every column.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a study's results as tidy CSV or JSON-lines tables (pandas loads them without arguments), with a README of every column.")

    @OptionGroup var options: AnalysisOptions

    @Option(help: "csv or jsonl.")
    var format: String = "csv"

    @Option(help: "Folder to write the tables and README.md into (created if missing).")
    var out: String

    func run() throws {
        try runAnalysisCommand("export") {
            guard let format = StudyExport.Format(rawValue: format) else {
                throw AnalysisError.invalidOption(name: "format", value: format, reason: "choose csv or jsonl")
            }
            let results = try options.open()
            let tables = try StudyExport.tables(of: results, filter: options.filter)
            let files = try StudyExport.write(tables, format: format, to: URL(fileURLWithPath: out), source: results.url.path)
            for (table, url) in zip(tables, files) { print("\(url.path)  (\(table.rows.count) rows)") }
            print(files.last!.path)
        }
    }
}
