import Foundation
import PEFTEngine

/// Analyses' results stored beside the study's parts, one file per analysis and parameter set:
/// `{index}.d/analysis/{analysis}-{key}.h5` (`ResultsLayout`), `key` a digest of the parameters
/// (filters and options). The file's root carries `analysis`, `parameters` (JSON),
/// `workbench_version` and `table_order`; each table is a group `tables/{name}` with one 1-D
/// dataset per column (float64, int64 or UTF-8 strings; missing values NaN / 0 / ""), plus
/// `table_json` (the table as JSON, with its column meanings). The index links it as
/// `/analysis/{analysis}/{key}`.
///
/// A second run with the same parameters reads the tables back instead of recomputing, unless
/// asked to recompute. A store replaces the whole file atomically (temporary, seal, rename), so
/// recomputing never grows anything, a crash mid-write leaves the previous file, and a study
/// still running elsewhere is not disturbed.
public enum AnalysisStore {
    /// The stored tables of `analysis` for `parameters`, or nil if not stored (or its file is
    /// damaged: it is then recomputed and replaced).
    /// The attribute naming the parts an analysis was computed from: a stored result is reused
    /// only while the study's completed bases and cells are exactly those (a cell finished or
    /// recomputed since makes it stale).
    static let inputsAttribute = "inputs_xxh64"

    /// The attribute holding `tablesFormat`.
    static let formatAttribute = "tables_format"
    /// Version of the tables' conventions shared by every analysis. 2: `stage` is always the
    /// integer stage and `task` the task's name; a spread over one seed is missing. Tables stored
    /// under an older format are never read back: they are computed again.
    public static let tablesFormat = 2

    /// Whether the stored analysis file's root says it holds the current table format.
    static func isCurrentFormat(_ group: HDF5Group) -> Bool {
        guard (try? group.hasAttribute(formatAttribute)) == true, case .integer(let v)? = try? group.attribute(formatAttribute) else { return false }
        return v == Int64(tablesFormat)
    }

    /// XXH64 of the completed parts' paths and identities, in order.
    static func inputs(_ results: StudyResults) -> String {
        let ids = Dictionary(results.parts.cells.map { ($0.path, $0.id) }, uniquingKeysWith: { a, _ in a })
        let baseIDs = Dictionary(results.parts.bases.map { ($0.seed, $0.id) }, uniquingKeysWith: { a, _ in a })
        let text = results.seeds.map { "base\($0)=\(baseIDs[$0] ?? "")" } + results.cells.map { "\($0.path)=\(ids[$0.path] ?? "")" }
        return String(format: "%016llx", XXHash64.hash(Array(text.joined(separator: "\n").utf8)))
    }

    public static func cached(_ results: StudyResults, analysis: String, parameters: String) throws -> [TidyTable]? {
        let url = results.layout.analysisFile(analysis: analysis, key: key(parameters))
        guard FileManager.default.fileExists(atPath: url.path), PartFile.problem(url, requireIdentity: false) == nil else { return nil }
        let file = try HDF5File.open(url)
        defer { try? file.close() }
        let group = try file.root()
        guard try group.hasAttribute("parameters"), try group.stringAttribute("parameters") == parameters,
              try group.hasAttribute(inputsAttribute), try group.stringAttribute(inputsAttribute) == inputs(results),
              isCurrentFormat(group), try group.contains("tables") else { return nil }
        let decoder = JSONDecoder()
        let names: [String]
        if try group.hasAttribute("table_order"), case .strings(let order) = try group.attribute("table_order") { names = order } else { names = try group.group("tables").children().sorted() }
        return try names.map { name in
            guard case .string(let json) = try group.readValue("tables/\(name)/table_json") else {
                throw AnalysisError.missing(path: url.path, object: "/tables/\(name)/table_json", hint: "stored table is damaged; use --recompute")
            }
            return try decoder.decode(TidyTable.self, from: Data(json.utf8))
        }
    }

    /// Outcome of `store`.
    public enum Outcome: Equatable, Sendable {
        /// The file the tables were stored in, and their path through the index.
        case stored(path: String)
    }

    /// Stores `tables` for `analysis` and `parameters` (replacing an earlier result with the
    /// same parameters, and removing the files of the same analysis whose parameters are
    /// `dropping`), then relinks the index's `/analysis`.
    @discardableResult
    public static func store(_ tables: [TidyTable], in results: StudyResults, analysis: String,
                             parameters: String, dropping isStale: (String) -> Bool = { _ in false }) throws -> Outcome {
        let layout = results.layout
        let url = layout.analysisFile(analysis: analysis, key: key(parameters))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            try FileManager.default.createDirectory(at: layout.analysisFolder, withIntermediateDirectories: true)
        } catch {
            throw AnalysisError.cannotWrite(path: layout.analysisFolder.path, detail: error.localizedDescription)
        }
        try HDF5Transaction.write(to: url) { group in
            try group.setAttribute("analysis", analysis)
            try group.setAttribute("parameters", parameters)
            try group.setAttribute(inputsAttribute, inputs(results))
            try group.setAttribute(formatAttribute, tablesFormat)
            try group.setAttribute("table_order", .strings(tables.map(\.name)))
            for table in tables {
                let t = try group.createGroup("tables/\(table.name)")
                try t.setAttribute("summary", table.summary)
                try t.setAttribute("columns", .strings(table.columns.map(\.name)))
                try t.writeValue(.string(String(decoding: try encoder.encode(table), as: UTF8.self)), to: "table_json")
                for (c, column) in table.columns.enumerated() {
                    try write(column: table.rows.map { $0[c] }, named: column.name, to: t)
                }
            }
        }
        let prefix = analysis + "-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: layout.analysisFolder.path)) ?? []
        where name.hasPrefix(prefix) && name.hasSuffix(".h5") && name != url.lastPathComponent {
            let other = layout.analysisFolder.appendingPathComponent(name)
            guard let file = try? HDF5File.open(other) else { continue }
            let stored = try? file.root().stringAttribute("parameters")
            try? file.close()
            if let stored, isStale(stored) { try? FileManager.default.removeItem(at: other) }
        }
        try ResultsIndex.relinkAnalyses(layout)
        return .stored(path: "/" + ResultsLayout.analysisPath(analysis: analysis, key: key(parameters)))
    }

    /// A column as the narrowest dataset that holds every value.
    static func write(column values: [TidyTable.Value], named name: String, to group: HDF5Group) throws {
        let isText = values.contains { if case .text = $0 { return true } else { return false } }
        let isReal = values.contains { if case .number = $0 { return true } else { return false } }
        if values.isEmpty {
            try group.write([Double](), to: name)
        } else if isText {
            try group.writeValue(.strings(values.map(\.description)), to: name)
        } else if isReal || values.contains(.missing) {
            try group.write(values.map { v -> Double in
                switch v {
                case .number(let x): return x
                case .integer(let i): return Double(i)
                default: return .nan
                }
            }, to: name)
        } else {
            try group.write(values.map { v -> Int64 in if case .integer(let i) = v { return Int64(i) } else { return 0 } }, to: name)
        }
    }

    /// FNV-1a 64 of the parameters, hex: a stable group name for one parameter set.
    static func key(_ parameters: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in parameters.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return String(hash, radix: 16)
    }
}
