import Foundation
import PEFTEngine

/// Analyses' results stored back in the study's results file, under
/// `/analysis/{analysis}/{key}` — `key` a digest of the parameters (filters and options), the
/// parameters themselves in the group's `parameters` attribute (JSON). Each table is a group
/// `tables/{name}` with one 1-D dataset per column (float64, int64 or UTF-8 strings; missing
/// values NaN / 0 / ""), plus `table_json` (the table as JSON, with its column meanings).
///
/// A second run with the same parameters reads the tables back instead of recomputing, unless
/// asked to recompute. Writing goes through `OutputLock` + `HDF5Transaction.update`, so a crash
/// mid-write leaves the previous complete file; while a study is still writing the file (lock
/// held), results are printed but not stored, and `store` says so instead of failing.
public enum AnalysisStore {
    /// The stored tables of `analysis` for `parameters`, or nil if not stored.
    public static func cached(_ results: StudyResults, analysis: String, parameters: String) throws -> [TidyTable]? {
        let path = "analysis/\(analysis)/\(key(parameters))"
        guard try results.root.contains(path) else { return nil }
        let group = try results.root.group(path)
        guard try group.hasAttribute("parameters"), try group.stringAttribute("parameters") == parameters,
              try group.contains("tables") else { return nil }
        let decoder = JSONDecoder()
        let names: [String]
        if try group.hasAttribute("table_order"), case .strings(let order) = try group.attribute("table_order") { names = order } else { names = try group.group("tables").children().sorted() }
        return try names.map { name in
            guard case .string(let json) = try group.readValue("tables/\(name)/table_json") else {
                throw AnalysisError.missing(path: results.url.path, object: "/\(path)/tables/\(name)/table_json", hint: "stored table is damaged; use --recompute")
            }
            return try decoder.decode(TidyTable.self, from: Data(json.utf8))
        }
    }

    /// Outcome of `store`.
    public enum Outcome: Equatable, Sendable {
        case stored(path: String)
        /// Another process (a running study) holds the file's lock; nothing was written.
        case skippedLocked(reason: String)
    }

    /// Stores `tables` for `analysis` and `parameters` (replacing an earlier result with the
    /// same parameters, and removing those of the same analysis whose parameters are
    /// `dropping`). The results file must not be open for writing elsewhere.
    @discardableResult
    public static func store(_ tables: [TidyTable], in results: StudyResults, analysis: String,
                             parameters: String, dropping isStale: (String) -> Bool = { _ in false }) throws -> Outcome {
        let lock: OutputLock
        do {
            lock = try OutputLock(output: results.url)
        } catch let error as RunnerError {
            return .skippedLocked(reason: error.description)
        }
        defer { lock.release() }
        let path = "analysis/\(analysis)/\(key(parameters))"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try HDF5Transaction.update(at: results.url) { root in
            if try root.contains(path) { try root.remove(path) }
            if try root.contains("analysis/\(analysis)") {
                let siblings = try root.group("analysis/\(analysis)")
                for name in try siblings.children() {
                    let old = try siblings.group(name)
                    if try old.hasAttribute("parameters"), isStale(try old.stringAttribute("parameters")) { try siblings.remove(name) }
                }
            }
            let group = try root.createGroup(path)
            try group.setAttribute("analysis", analysis)
            try group.setAttribute("parameters", parameters)
            try group.setAttribute("workbench_version", WorkbenchInfo.version)
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
        return .stored(path: "/" + path)
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
