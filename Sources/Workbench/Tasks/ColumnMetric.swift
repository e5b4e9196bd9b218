/// The number a column of the metric matrix holds, and which way is better.
///
/// Every forgetting measure (`ContinualMetrics`) is computed on the column's *score*: the value
/// itself when higher is better, its negative when lower is better. So, in the metric's own
/// units, a positive BWT, FWT or learned gain is always an improvement and a positive forgetting
/// (both conventions) or skill drop always a loss — for mean NLL, a forgetting of 0.2 means the
/// NLL rose by 0.2 nats per token.
public enum ColumnMetric: String, Sendable, Equatable, CaseIterable, Codable {
    /// Teacher-forced exact match of the answer (`TaskMetrics.exactMatch`), higher is better.
    case exactMatch = "exact_match"
    /// Exact match of the greedily decoded answer (`TaskMetrics.greedyExactMatch`), higher is better.
    case greedyExactMatch = "greedy_exact_match"
    /// Multiple-choice accuracy by summed log-likelihood (`TaskMetrics.choiceAccuracy`), higher is better.
    case choiceAccuracy = "choice_accuracy"
    /// Mean negative log-likelihood in nats per token (`TaskMetrics.meanLoss`), lower is better.
    case meanNLL = "mean_nll"

    public var higherIsBetter: Bool { self != .meanNLL }

    /// "higher" or "lower": the attribute stored beside every metric matrix.
    public var direction: String { higherIsBetter ? "higher" : "lower" }

    /// The column's value in `metrics`.
    public func value(_ metrics: TaskMetrics) -> Double {
        switch self {
        case .exactMatch: metrics.exactMatch
        case .greedyExactMatch: metrics.greedyExactMatch ?? metrics.exactMatch
        case .choiceAccuracy: metrics.choiceAccuracy ?? metrics.exactMatch
        case .meanNLL: metrics.meanLoss
        }
    }
}
