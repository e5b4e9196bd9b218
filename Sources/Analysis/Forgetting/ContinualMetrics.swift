/// The standard continual-learning summaries of one accuracy matrix R (see `AccuracyMatrix` for
/// the conventions: row 0 = base model, row t = after task t; tasks j = 1…T, skills s = 0..<S).
///
/// Below, R[t][j] is the accuracy on task j after training task t, b_j = R[0][j] the base model's
/// zero-shot accuracy on task j, and R[t][s] the accuracy on base skill s.
///
/// Per-item arrays hold `nil` wherever the quantity is undefined (the last task has no
/// forgetting; a skill the base model scores 0 on has no retention ratio) and the means average
/// only the defined entries, `nil` when there are none — no number is ever made up.
///
/// Note the identity BWT = −(mean Avalanche forgetting): both average R[T][j] − R[j][j] over j < T.
///
/// Columns where lower is better (`AccuracyMatrix.higherIsBetter`, e.g. NLL) enter every
/// difference below as −R, so signs keep their meaning (positive BWT = better, positive
/// forgetting = worse) in the metric's units; A_T averages the raw values; a lower-is-better
/// skill's retention is R[0][s] / R[T][s] (≤ 1 when it got worse).
public struct ContinualMetrics: Sendable, Equatable, Codable {
    /// T, the number of tasks.
    public let taskCount: Int
    /// S, the number of base skills.
    public let skillCount: Int

    /// Average accuracy after the last task, A_T = (1/T) Σ_{j=1}^{T} R[T][j]
    /// (Lopez-Paz & Ranzato 2017, "Gradient Episodic Memory for Continual Learning", ACC).
    public let averageAccuracy: Double

    /// Backward transfer, BWT = 1/(T−1) Σ_{j=1}^{T−1} (R[T][j] − R[j][j]) (GEM, Lopez-Paz &
    /// Ranzato 2017). Negative means forgetting. `nil` when T = 1.
    public let bwt: Double?

    /// Forward transfer, FWT = 1/(T−1) Σ_{j=2}^{T} (R[j−1][j] − b_j) (GEM, Lopez-Paz & Ranzato
    /// 2017): how much training tasks 1…j−1 helped task j before it was trained, relative to the
    /// base model's zero-shot accuracy b_j = R[0][j]. `nil` when T = 1.
    public let fwt: Double?

    /// Chaudhry forgetting per task ("max − last"; Chaudhry et al. 2018, "Riemannian Walk for
    /// Incremental Learning"): f_j = max_{l ∈ 1…T−1} R[l][j] − R[T][j] for j < T, `nil` for j = T.
    /// As in the paper, the maximum runs over every earlier stage l, including those before task j
    /// was trained. Index j − 1 holds task j.
    public let forgettingChaudhry: [Double?]
    /// Mean of `forgettingChaudhry` over j < T; `nil` when T = 1.
    public let forgettingChaudhryMean: Double?

    /// Avalanche forgetting per task ("first − last", the Avalanche library's `Forgetting` metric:
    /// accuracy right after training the task minus the final accuracy): R[j][j] − R[T][j] for
    /// j < T, `nil` for j = T. Index j − 1 holds task j.
    public let forgettingAvalanche: [Double?]
    /// Mean of `forgettingAvalanche` over j < T; `nil` when T = 1. Equals −BWT.
    public let forgettingAvalancheMean: Double?

    /// Learning per task, R[j][j] − R[j−1][j]: the accuracy gained on task j by training it.
    /// Index j − 1 holds task j.
    public let learning: [Double]
    /// Mean of `learning` over all T tasks.
    public let learningMean: Double

    /// Skill retention per skill, R[T][s] / R[0][s]: the fraction of the base model's skill kept
    /// after the last task; `nil` where R[0][s] = 0.
    public let skillRetention: [Double?]
    /// Mean of the defined `skillRetention` entries; `nil` when there are none.
    public let skillRetentionMean: Double?

    /// Skill drop per skill, R[0][s] − R[T][s] (positive = the skill was lost).
    public let skillDrop: [Double]
    /// Mean of `skillDrop`; `nil` when S = 0.
    public let skillDropMean: Double?

    /// Target-domain gain, learned = (1/T) Σ_j (R[j][j] − R[0][j]): what each task gained over the
    /// base model right after its training — the "learns" side of Biderman et al. 2024,
    /// "LoRA Learns Less and Forgets Less".
    public let learned: Double
    /// Source-domain loss, forgotten = (1/S) Σ_s (R[0][s] − R[T][s]): the base skills lost by the
    /// end — the "forgets" side of Biderman et al. 2024. `nil` when S = 0.
    public let forgotten: Double?

    /// Computes every metric from R.
    public init(_ R: AccuracyMatrix) {
        let T = R.taskCount, S = R.skillCount
        taskCount = T
        skillCount = S

        var finalSum = 0.0
        for j in 1...T { finalSum += R.r(after: T, task: j) }
        averageAccuracy = finalSum / Double(T)

        var chaudhry = [Double?](repeating: nil, count: T)
        var avalanche = [Double?](repeating: nil, count: T)
        var backward = 0.0
        for j in 1..<T {   // empty when T = 1
            let final = R.score(after: T, task: j)
            var best = -Double.infinity
            for l in 1..<T { best = max(best, R.score(after: l, task: j)) }
            chaudhry[j - 1] = best - final
            avalanche[j - 1] = R.score(after: j, task: j) - final
            backward += final - R.score(after: j, task: j)
        }
        forgettingChaudhry = chaudhry
        forgettingAvalanche = avalanche
        forgettingChaudhryMean = Self.meanOfDefined(chaudhry)
        forgettingAvalancheMean = Self.meanOfDefined(avalanche)
        bwt = T > 1 ? backward / Double(T - 1) : nil

        var forward = 0.0
        for j in stride(from: 2, through: T, by: 1) {
            forward += R.score(after: j - 1, task: j) - R.score(after: 0, task: j)
        }
        fwt = T > 1 ? forward / Double(T - 1) : nil

        var gains = [Double](), gainedOverBase = 0.0
        gains.reserveCapacity(T)
        for j in 1...T {
            gains.append(R.score(after: j, task: j) - R.score(after: j - 1, task: j))
            gainedOverBase += R.score(after: j, task: j) - R.score(after: 0, task: j)
        }
        learning = gains
        learningMean = gains.reduce(0, +) / Double(T)
        learned = gainedOverBase / Double(T)

        var retention = [Double?](), drop = [Double]()
        for s in 0..<S {
            let base = R.base(skill: s), final = R.r(after: T, skill: s)
            if R.higherIsBetter[s] {
                retention.append(base == 0 ? nil : final / base)
            } else {
                retention.append(final == 0 ? nil : base / final)
            }
            drop.append(R.score(after: 0, skill: s) - R.score(after: T, skill: s))
        }
        skillRetention = retention
        skillRetentionMean = Self.meanOfDefined(retention)
        skillDrop = drop
        skillDropMean = Self.meanOfDefined(drop)
        forgotten = skillDropMean
    }

    /// Mean of the non-nil values; `nil` when there are none.
    static func meanOfDefined(_ values: [Double?]) -> Double? {
        var sum = 0.0, count = 0
        for case let value? in values {
            sum += value
            count += 1
        }
        return count == 0 ? nil : sum / Double(count)
    }
}
