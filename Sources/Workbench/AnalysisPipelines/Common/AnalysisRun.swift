import Foundation

/// What an analysis command produced: its tables, whether they were read back from the file,
/// and what happened when storing them.
public struct AnalysisReport: Sendable {
    public var analysis: String
    public var tables: [TidyTable]
    /// True when the tables came from `/analysis` in the file instead of being computed.
    public var reused: Bool
    /// nil when reused.
    public var storage: AnalysisStore.Outcome?
    /// Lines for the reader (conventions, caveats), printed above the tables.
    public var notes: [String]
    /// What the text output shows when not every table (e.g. a wide summary); nil = `tables`.
    public var displayTables: [TidyTable]?

    public init(analysis: String, tables: [TidyTable], reused: Bool, storage: AnalysisStore.Outcome?, notes: [String] = []) {
        self.analysis = analysis; self.tables = tables; self.reused = reused; self.storage = storage; self.notes = notes
    }

    /// The tables as aligned text, each under its name and one-line summary.
    public func rendered() -> String {
        var out = notes.map { "# " + $0 + "\n" }.joined()
        if let displayTables {
            let hidden = tables.map(\.name).filter { name in !displayTables.contains { $0.name == name } }
            if !hidden.isEmpty { out += "# Also computed (see --json or `workbench export`): \(hidden.joined(separator: ", "))\n" }
        }
        for table in displayTables ?? tables {
            out += "\n== \(table.name): \(table.summary)\n" + table.rendered()
        }
        switch storage {
        case .stored(let path)?: out += "\n(stored under \(path); later runs with the same options reuse it)\n"
        case nil: if reused { out += "\n(read back from the results file; --recompute to compute again)\n" }
        }
        return out
    }

    /// `{"analysis": …, "reused": …, "notes": […], "tables": {name: [records]},
    /// "columns": {name: [{"name": …, "meaning": …}]}, "summaries": {name: row meaning}}`, keys
    /// sorted: each column's meaning (with its unit) travels with the numbers.
    public func json() throws -> String {
        struct Payload: Encodable {
            var analysis: String
            var reused: Bool
            var notes: [String]
            var tables: [String: [[String: TidyTable.Value]]]
            var columns: [String: [TidyTable.Column]]
            var summaries: [String: String]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let payload = Payload(analysis: analysis, reused: reused, notes: notes,
                              tables: Dictionary(uniqueKeysWithValues: tables.map { ($0.name, $0.records()) }),
                              columns: Dictionary(uniqueKeysWithValues: tables.map { ($0.name, $0.columns) }),
                              summaries: Dictionary(uniqueKeysWithValues: tables.map { ($0.name, $0.summary) }))
        return String(decoding: try encoder.encode(payload), as: UTF8.self) + "\n"
    }
}

public enum AnalysisRun {
    /// Reads the tables stored for (`analysis`, `parameters`) unless `recompute`; otherwise
    /// computes them and stores them in the results file, dropping every stored result of the
    /// same analysis whose parameters `isStale` (e.g. computed with an older codebook).
    public static func cachedOrComputed(_ results: StudyResults, analysis: String, parameters: String,
                                        recompute: Bool, notes: [String] = [],
                                        isStale: @escaping (String) -> Bool = { _ in false },
                                        compute: () throws -> [TidyTable]) throws -> AnalysisReport {
        if !recompute, let tables = try AnalysisStore.cached(results, analysis: analysis, parameters: parameters) {
            return AnalysisReport(analysis: analysis, tables: tables, reused: true, storage: nil, notes: notes)
        }
        let tables = try compute()
        let outcome = try AnalysisStore.store(tables, in: results, analysis: analysis, parameters: parameters, dropping: isStale)
        return AnalysisReport(analysis: analysis, tables: tables, reused: false, storage: outcome, notes: notes)
    }
}
