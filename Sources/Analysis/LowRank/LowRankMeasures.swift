/// The measures of one row of the low-rank test, from one evaluated (or stored) row of
/// accuracies after task t, against the cell's stored accuracy matrix R
/// (row 0 = base, row t = after task t; columns = the S skills, then the T tasks).
///
/// - acc_new_task = acc[task t];
/// - acc_earlier_tasks = mean_{j<t} acc[task j];
/// - forgetting_earlier_tasks = mean_{j<t} (R[j][task j] − acc[task j]): Avalanche's
///   "accuracy right after learning − accuracy now", with "now" the modified model;
/// - acc_skills = mean_s acc[skill s]; skill_drop = mean_s (R[0][skill s] − acc[skill s]).
///
/// Earlier-task measures are missing for t = 1, and for `per-task` cells: there the stored
/// R[t][task j] is measured with task j's own module, so no single model after task t has
/// an earlier-task accuracy to compare with.
public struct LowRankMeasures: Sendable, Equatable {
    public var accNewTask: Double
    public var accEarlierTasks: Double?
    public var forgettingEarlierTasks: Double?
    public var accSkills: Double?
    public var skillDrop: Double?

    /// - Parameters:
    ///   - accuracy: the accuracy of column c (accuracy-matrix column index) of the model measured.
    ///   - stored: the cell's stored accuracy matrix R.
    ///   - skillCount: S.
    ///   - task: t, 1-based.
    ///   - earlierTasks: false for `per-task` cells (see the type's comment).
    public init(accuracy: (Int) -> Double, stored: [[Double]], skillCount: Int, task t: Int, earlierTasks: Bool) {
        precondition(t >= 1 && t < stored.count, "LowRankMeasures: task \(t) outside 1..<\(stored.count)")
        accNewTask = accuracy(skillCount + t - 1)
        if earlierTasks && t > 1 {
            let js = 1..<t
            accEarlierTasks = Self.mean(js.map { accuracy(skillCount + $0 - 1) })
            forgettingEarlierTasks = Self.mean(js.map { stored[$0][skillCount + $0 - 1] - accuracy(skillCount + $0 - 1) })
        }
        if skillCount > 0 {
            accSkills = Self.mean((0..<skillCount).map(accuracy))
            skillDrop = Self.mean((0..<skillCount).map { stored[0][$0] - accuracy($0) })
        }
    }

    /// Columns a re-evaluation after task t needs: the skills and tasks 1…t (only task t for `per-task`).
    public static func columns(skillCount: Int, task t: Int, earlierTasks: Bool) -> [Int] {
        Array(0..<skillCount) + (earlierTasks ? Array(skillCount..<skillCount + t) : [skillCount + t - 1])
    }

    /// |acc_full − acc_0| at or below this counts as no gain: gain_recovered is then missing.
    /// Exact-match accuracies are multiples of 1/n, so any real gain is far above it.
    public static let gainDenominatorTolerance = 1e-9

    /// Fraction of the fine-tuning gain on the new task recovered at rank k:
    /// (acc_k − acc_0) / (acc_full − acc_0); nil when acc_full ≈ acc_0 (nothing to recover).
    /// May leave [0, 1]: a truncation can do better than the full ΔW, or worse than none.
    public static func gainRecovered(acc: Double, acc0: Double, accFull: Double) -> Double? {
        let gain = accFull - acc0
        guard abs(gain) > gainDenominatorTolerance else { return nil }
        return (acc - acc0) / gain
    }

    public static func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(xs.count) }
}
