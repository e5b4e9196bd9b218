import Foundation

/// What `LowRankTest` sweeps: which cells, stages and matrices (the shared `AnalysisFilter`),
/// the ranks k, and the truncation modes.
public struct LowRankOptions: Sendable, Equatable, Codable {
    /// Matrix types of a transformer block, as they end a linear site's name (`blocks.0.attn.q`):
    /// GPT-2's six, then LLaMA's MLP three (its attention shares GPT-2's names).
    public static let matrixTypes = ["attn.q", "attn.k", "attn.v", "attn.o", "mlp.fc", "mlp.proj", "mlp.gate", "mlp.up", "mlp.down"]
    /// `all` truncates every selected linear matrix at once; a matrix type truncates only
    /// the matrices of that type, the others keep their full ΔW. Types the model does not have
    /// select nothing and are left out of the tables. `matrices_only` truncates like `all` and
    /// also sets every parameter that is not a linear matrix (embeddings, norms, biases, the
    /// head) back to the base's: what the linear matrices' ΔW alone carries.
    public static let allModes = ["all", matricesOnly] + matrixTypes
    public static let matricesOnly = "matrices_only"

    public var filter: AnalysisFilter
    /// The ranks k to report; nil: 0, 1, 2, 4, … (powers of two below the largest
    /// min(out, in) of the truncated matrices) and that full rank itself.
    public var ranks: [Int]?
    /// Truncation modes, a subset of `allModes`, in the order given.
    public var modes: [String]
    /// Which stored accuracy every acc_… column is.
    public var metric: Metric

    /// The accuracy the test measures, and the stored matrix it compares with.
    public enum Metric: String, Sendable, Equatable, Codable, CaseIterable {
        /// Each column's own measure (`ColumnMetric`), as a score: the value where higher is
        /// better, its negative where lower is (mean NLL), so every acc_… column, gain and drop
        /// keeps "higher = better". The default.
        case columnMetric = "metric"
        /// Exact match, teacher-forced (`accuracy`): the whole answer right. The default.
        case exactMatch = "exact_match"
        /// Teacher-forced token accuracy (`token_accuracy`): finer-grained, useful for small
        /// models whose exact match is still near 0.
        case tokenAccuracy = "token_accuracy"

        /// The metric's value (score) of column `column` in an evaluation, whose column metrics are `columns`.
        public func value(_ metrics: TaskMetrics, column: Int, columns: [ColumnMetric]) -> Double {
            switch self {
            case .columnMetric:
                let metric = columns[column]
                return metric.higherIsBetter ? metric.value(metrics) : -metric.value(metrics)
            case .exactMatch: return metrics.exactMatch
            case .tokenAccuracy: return metrics.tokenAccuracy
            }
        }

        /// The cell's stored matrix of this metric (rows = base + after each task), as scores.
        public func stored(_ results: StudyResults, _ cell: StudyResults.Cell) throws -> [[Double]] {
            switch self {
            case .columnMetric: return try results.columnScores(cell)
            case .exactMatch: return try results.accuracy(cell)
            case .tokenAccuracy: return try results.tokenAccuracy(cell)
            }
        }
    }

    public init(filter: AnalysisFilter = AnalysisFilter(), ranks: [Int]? = nil, modes: [String] = LowRankOptions.allModes,
                metric: Metric = .columnMetric) {
        self.filter = filter; self.ranks = ranks; self.modes = modes; self.metric = metric
    }

    /// Rejects negative or repeated ranks, an empty rank list, and unknown or repeated modes.
    public func validate() throws {
        if let ranks {
            guard !ranks.isEmpty else { throw AnalysisError.invalidOption(name: "ranks", value: "", reason: "give at least one rank") }
            if let bad = ranks.first(where: { $0 < 0 }) {
                throw AnalysisError.invalidOption(name: "ranks", value: String(bad), reason: "a rank is ≥ 0 (0 removes ΔW)")
            }
            if Set(ranks).count != ranks.count {
                throw AnalysisError.invalidOption(name: "ranks", value: ranks.map(String.init).joined(separator: ","), reason: "a rank is repeated")
            }
        }
        guard !modes.isEmpty else {
            throw AnalysisError.invalidOption(name: "modes", value: "", reason: "give at least one of \(Self.allModes.joined(separator: ", "))")
        }
        if let bad = modes.first(where: { !Self.allModes.contains($0) }) {
            throw AnalysisError.invalidOption(name: "modes", value: bad, reason: "not a mode (choices: \(Self.allModes.joined(separator: ", ")))")
        }
        if Set(modes).count != modes.count {
            throw AnalysisError.invalidOption(name: "modes", value: modes.joined(separator: ","), reason: "a mode is repeated")
        }
    }

    /// Version of the tables' shape, part of the key: tables stored before `lowrank_rank_needed`
    /// (2) and the `matrices_only` mode (3) existed are computed again rather than read back
    /// without them.
    static let tablesVersion = 3

    /// Canonical JSON (sorted keys) of the options and `tablesVersion`: the key the tables are
    /// stored under in `/analysis/lowrank`.
    public var parameters: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let options = String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
        return String(options.dropLast()) + ",\"tables\":\(Self.tablesVersion)}"
    }

    /// The default rank list for matrices whose largest min(out, in) is `fullRank`:
    /// 0, then powers of two below `fullRank`, then `fullRank` (e.g. 16 → 0, 1, 2, 4, 8, 16;
    /// 12 → 0, 1, 2, 4, 8, 12).
    public static func defaultRanks(fullRank: Int) -> [Int] {
        precondition(fullRank >= 0, "defaultRanks: fullRank must be ≥ 0, got \(fullRank)")
        var ranks = [0]
        var k = 1
        while k < fullRank { ranks.append(k); k *= 2 }
        if fullRank > 0 { ranks.append(fullRank) }
        return ranks
    }

    /// Whether the matrix `name` (e.g. `blocks.1.attn.q.weight`) is truncated in `mode`.
    public static func mode(_ mode: String, truncates name: String) -> Bool {
        mode == "all" || mode == matricesOnly || name.hasSuffix("." + mode + ".weight")
    }
}
