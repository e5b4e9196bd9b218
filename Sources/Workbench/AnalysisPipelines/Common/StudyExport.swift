import Foundation

/// `workbench export`: tidy tables as files a data-frame library loads without arguments —
/// `pandas.read_csv(path)` for CSV, `pandas.read_json(path, lines=True)` for JSON lines — plus
/// a README.md describing every table and column.
///
/// Files are written atomically (temporary name in the folder, then rename), so an interrupted
/// export leaves earlier files whole and never a half-written table.
public enum StudyExport {
    public enum Format: String, CaseIterable, Sendable {
        case csv, jsonl
    }

    /// Writes one file per table and README.md into `folder` (created if needed); returns the paths.
    public static func write(_ tables: [TidyTable], format: Format, to folder: URL, source: String) throws -> [URL] {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var written: [URL] = []
        for table in tables {
            let url = folder.appendingPathComponent("\(table.name).\(format.rawValue)")
            try writeAtomically(format == .csv ? table.csv() : try table.jsonLines(), to: url)
            written.append(url)
        }
        let readme = folder.appendingPathComponent("README.md")
        try writeAtomically(self.readme(tables, format: format, source: source), to: readme)
        written.append(readme)
        return written
    }

    /// The README: how to load the files, then every table with its row meaning and columns.
    public static func readme(_ tables: [TidyTable], format: Format, source: String) -> String {
        let load = format == .csv ? "pandas.read_csv(\"NAME.csv\")" : "pandas.read_json(\"NAME.jsonl\", lines=True)"
        var out = """
            # Tidy tables exported by `workbench export`

            Source: `\(source)` (workbench \(WorkbenchInfo.version)). One observation per row, one variable per
            column; load a table with `\(load)`. Empty cells (CSV) or `null` (JSON) are values that are
            undefined, e.g. the forgetting of the last task. `unit`: key (identifies the row),
            index, count, rank (singular directions), fraction (0…1), ratio, nats/token, weight (the
            parameters' own scale), cosine, degrees, seconds, bytes, tokens/s, bits, flag (0/1), step,
            metric (the unit of the row's metric). `better`: which way is better, for performance
            measures; one column name means one quantity in every table.

            """
        for table in tables {
            out += "\n## \(table.name).\(format.rawValue)\n\n\(table.summary). \(table.rows.count) rows.\n\n| column | unit | better | meaning |\n|---|---|---|---|\n"
            for column in table.columns {
                let better = column.direction == .none ? "" : column.direction.rawValue
                out += "| `\(column.name)` | \(column.unit) | \(better) | \(column.meaning.replacingOccurrences(of: "|", with: "\\|")) |\n"
            }
        }
        return out
    }

    static func writeAtomically(_ text: String, to url: URL) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try Data(text.utf8).write(to: temporary)
            // rename(2) replaces an existing file atomically; Foundation's replaceItemAt fails
            // on Linux when the destination exists.
            guard rename(temporary.path, url.path) == 0 else {
                throw AnalysisError.cannotWrite(path: url.path, detail: String(cString: strerror(errno)))
            }
        } catch let error as AnalysisError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw AnalysisError.cannotWrite(path: url.path, detail: error.localizedDescription)
        }
    }
}

extension StudyExport {
    /// Every table of a study: cells, evaluation, training loss, then every analysis stored in
    /// the file (run `workbench forgetting|spectrum|lowrank|subspace|nf4` first to include them).
    /// The filter applies to every table, the stored analyses' included (`TidyTable.filtered`).
    public static func tables(of results: StudyResults, filter: AnalysisFilter) throws -> [TidyTable] {
        try filter.validate(against: results)
        _ = try filter.cells(of: results)
        return [try results.cellTable(filter: filter), try results.evaluationTable(filter: filter),
                try results.trainingLossTable(filter: filter)] + (try results.storedAnalysisTables()).map { $0.filtered(by: filter) }
    }
}
