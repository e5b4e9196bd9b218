import Foundation

/// A long ("tidy") table: one observation per row, one variable per column — the common
/// currency of every analysis. It prints as an aligned text table, serialises to CSV that
/// `pandas.read_csv` loads without arguments, to JSON records / JSON lines, and is stored in
/// HDF5 under `/analysis` (`AnalysisStore`).
public struct TidyTable: Sendable, Equatable, Codable {
    /// One cell. `missing` is an undefined value (e.g. forgetting of the last task): empty in
    /// CSV, `null` in JSON, NaN in HDF5 float columns.
    public enum Value: Sendable, Equatable, Codable, CustomStringConvertible {
        case text(String)
        case integer(Int)
        case number(Double)
        case missing

        public var description: String {
            switch self {
            case .text(let s): return s
            case .integer(let i): return String(i)
            case .number(let x): return TidyTable.format(x)
            case .missing: return ""
            }
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .missing }
            else if let i = try? c.decode(Int.self) { self = .integer(i) }
            else if let x = try? c.decode(Double.self) { self = .number(x) }
            else { self = .text(try c.decode(String.self)) }
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .text(let s): try c.encode(s)
            case .integer(let i): try c.encode(i)
            case .number(let x): if x.isFinite { try c.encode(x) } else { try c.encodeNil() }
            case .missing: try c.encodeNil()
            }
        }
    }

    /// A column: its name (snake_case, used as CSV header) and what it holds (for the export README).
    /// A column: its name, what it holds in this table (`ColumnSchema`'s meaning when the table
    /// gives none), and the unit and direction every column of that name has (`ColumnSchema`).
    public struct Column: Sendable, Equatable, Codable {
        public var name: String
        public var meaning: String
        public init(_ name: String, _ meaning: String) {
            self.name = name
            self.meaning = meaning.isEmpty ? (ColumnSchema.entry(name)?.meaning ?? "") : meaning
        }

        /// key, index, count, rank, fraction, ratio, nats/token, weight, …; "" for an unknown name.
        public var unit: String { ColumnSchema.entry(name)?.unit ?? "" }
        public var direction: ColumnSchema.Direction { ColumnSchema.entry(name)?.direction ?? .none }

        enum CodingKeys: String, CodingKey { case name, meaning, unit, direction }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(meaning, forKey: .meaning)
            try c.encode(unit, forKey: .unit)
            try c.encode(direction, forKey: .direction)
        }

        /// Unit and direction are not read back: they follow the name.
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(try c.decode(String.self, forKey: .name), try c.decode(String.self, forKey: .meaning))
        }
    }

    /// File-name-safe name, e.g. `forgetting_per_task`.
    public var name: String
    /// What one row is, for the export README.
    public var summary: String
    public var columns: [Column]
    public var rows: [[Value]]

    public init(name: String, summary: String, columns: [Column], rows: [[Value]] = []) {
        precondition(rows.allSatisfy { $0.count == columns.count }, "TidyTable \(name): every row needs \(columns.count) values")
        self.name = name; self.summary = summary; self.columns = columns; self.rows = rows
    }

    enum CodingKeys: String, CodingKey { case name, summary, columns, rows, kinds }

    /// Rows are stored as JSON arrays plus one kind letter per value (t text, i integer,
    /// n number, m missing), so a whole number stays a `.number` through a round trip
    /// (JSON writes 2.0 as 2). Non-finite numbers come back as NaN.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(summary, forKey: .summary)
        try c.encode(columns, forKey: .columns)
        try c.encode(rows, forKey: .rows)
        try c.encode(rows.map { String($0.map { v -> Character in
            switch v { case .text: return "t"; case .integer: return "i"; case .number: return "n"; case .missing: return "m" }
        }) }, forKey: .kinds)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        summary = try c.decode(String.self, forKey: .summary)
        columns = try c.decode([Column].self, forKey: .columns)
        let raw = try c.decode([[Value]].self, forKey: .rows)
        let kinds = try c.decodeIfPresent([String].self, forKey: .kinds)
        rows = raw.enumerated().map { r, row in
            guard let kinds, r < kinds.count else { return row }
            return zip(row, kinds[r]).map { value, kind in
                switch (kind, value) {
                case ("n", .integer(let i)): return .number(Double(i))
                case ("n", .missing): return .number(.nan)
                case ("t", .integer(let i)): return .text(String(i))
                case ("t", .number(let x)): return .text(String(x))
                default: return value
                }
            }
        }
    }

    public mutating func append(_ row: [Value]) {
        precondition(row.count == columns.count, "TidyTable \(name): row of \(row.count) values for \(columns.count) columns")
        rows.append(row)
    }

    /// Index of the column named `name`.
    public func columnIndex(_ name: String) -> Int? { columns.firstIndex { $0.name == name } }

    /// The values of column `name`.
    public func values(_ name: String) -> [Value] {
        guard let c = columnIndex(name) else { preconditionFailure("TidyTable \(self.name): no column \(name)") }
        return rows.map { $0[c] }
    }

    // MARK: Text

    /// Aligned text: header, a rule, rows; numbers right-aligned with 4 significant digits.
    public func rendered() -> String {
        let cells = [columns.map(\.name)] + rows.map { $0.map(\.description) }
        let widths = columns.indices.map { c in cells.map { $0[c].count }.max() ?? 0 }
        let numeric = columns.indices.map { c in rows.contains { if case .text = $0[c] { return false } else { return true } } }
        func line(_ row: [String]) -> String {
            row.indices.map { c in
                let pad = String(repeating: " ", count: widths[c] - row[c].count)
                return numeric[c] ? pad + row[c] : row[c] + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }
        var out = line(cells[0]) + "\n" + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for row in cells.dropFirst() { out += line(row) + "\n" }
        return out
    }

    /// 4 significant digits without exponent for ordinary magnitudes; full precision is in CSV/JSON.
    static func format(_ x: Double) -> String {
        guard x.isFinite else { return x.isNaN ? "nan" : (x > 0 ? "inf" : "-inf") }
        if x == 0 { return "0" }
        let magnitude = abs(x)
        if magnitude >= 1e6 || magnitude < 1e-4 { return String(format: "%.3e", x) }
        if magnitude >= 1000 { return String(format: "%.0f", x) }
        let decimals = max(0, 3 - Int(floor(log10(magnitude))))
        return String(format: "%.\(decimals)f", x)
    }

    // MARK: CSV / JSON

    /// RFC 4180 CSV with a header row; numbers with full round-trip precision; missing → empty.
    public func csv() -> String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        func raw(_ v: Value) -> String {
            switch v {
            case .text(let s): return field(s)
            case .integer(let i): return String(i)
            case .number(let x): return x.isFinite ? "\(x)" : (x.isNaN ? "" : (x > 0 ? "inf" : "-inf"))
            case .missing: return ""
            }
        }
        var out = columns.map { field($0.name) }.joined(separator: ",") + "\n"
        for row in rows { out += row.map(raw).joined(separator: ",") + "\n" }
        return out
    }

    /// One JSON object per row, keys = column names.
    public func records() -> [[String: Value]] {
        rows.map { row in Dictionary(uniqueKeysWithValues: zip(columns.map(\.name), row)) }
    }

    /// JSON lines: one object per row (keys sorted).
    public func jsonLines() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try records().map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
    }
}
