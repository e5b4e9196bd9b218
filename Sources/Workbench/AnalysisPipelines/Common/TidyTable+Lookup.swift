import Analysis
import Foundation

extension TidyTable {
    /// One row read by column name, for code that consumes tables (figures, summaries) instead
    /// of lining values up by position.
    public struct Row: Sendable {
        public let values: [Value]
        let indices: [String: Int]

        /// The number in `column` (integers widened); nil when missing, non-finite, text or absent.
        public func number(_ column: String) -> Double? {
            guard let i = indices[column] else { return nil }
            switch values[i] {
            case .number(let x): return x.isFinite ? x : nil
            case .integer(let n): return Double(n)
            default: return nil
            }
        }

        /// The value of `column` as text ("" when missing or absent).
        public func text(_ column: String) -> String {
            guard let i = indices[column] else { return "" }
            return values[i].description
        }

        public func integer(_ column: String) -> Int? {
            guard let i = indices[column] else { return nil }
            if case .integer(let n) = values[i] { return n }
            if case .number(let x) = values[i], x == x.rounded(), abs(x) < 1e15 { return Int(x) }
            if case .text(let s) = values[i] { return Int(s) }
            return nil
        }
    }

    /// Every row, addressable by column name.
    public var namedRows: [Row] {
        let indices = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($1.name, $0) })
        return rows.map { Row(values: $0, indices: indices) }
    }
}

extension TidyTable.Value {
    /// The standard deviation of `spread` as a table value: missing for fewer than two seeds,
    /// where a spread is undefined (empty in CSV, null in JSON), never a misleading 0.
    public static func spread(_ spread: SeedSpread) -> TidyTable.Value {
        spread.count < 2 ? .missing : .number(spread.standardDeviation)
    }

    /// "mean ± std" for the printed views, or "mean (1 seed)" when the spread is undefined.
    static func meanAndSpread(_ mean: TidyTable.Value, _ std: TidyTable.Value) -> TidyTable.Value {
        guard case .number(let mu) = mean else { return .text("—") }
        if case .number(let sd) = std { return .text(String(format: "%.3f ± %.3f", mu, sd)) }
        return .text(String(format: "%.3f (1 seed)", mu))
    }
}
