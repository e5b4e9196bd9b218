/// Every scalar of `ContinualMetrics` summarized over runs that differ only in their seed.
///
/// A metric that is undefined (`nil`) in some runs is summarized over the runs where it is
/// defined — its `count` says how many — and is `nil` when no run defines it.
public struct ContinualMetricsSpread: Sendable, Equatable, Codable {
    /// T, shared by every run.
    public let taskCount: Int
    /// S, shared by every run.
    public let skillCount: Int
    /// Number of runs aggregated.
    public let runCount: Int

    /// `ContinualMetrics.averageAccuracy` (A_T) across runs.
    public let averageAccuracy: SeedSpread
    /// `ContinualMetrics.bwt` across runs; `nil` when T = 1.
    public let bwt: SeedSpread?
    /// `ContinualMetrics.fwt` across runs; `nil` when T = 1.
    public let fwt: SeedSpread?
    /// `ContinualMetrics.forgettingChaudhryMean` (max − last) across runs; `nil` when T = 1.
    public let forgettingChaudhry: SeedSpread?
    /// `ContinualMetrics.forgettingAvalancheMean` (first − last) across runs; `nil` when T = 1.
    public let forgettingAvalanche: SeedSpread?
    /// `ContinualMetrics.learningMean` across runs.
    public let learning: SeedSpread
    /// `ContinualMetrics.skillRetentionMean` across the runs that define it.
    public let skillRetention: SeedSpread?
    /// `ContinualMetrics.skillDropMean` across runs; `nil` when S = 0.
    public let skillDrop: SeedSpread?
    /// `ContinualMetrics.learned` (Biderman et al. 2024, target-domain gain) across runs.
    public let learned: SeedSpread
    /// `ContinualMetrics.forgotten` (Biderman et al. 2024, source-domain loss) across runs.
    public let forgotten: SeedSpread?

    /// Aggregates `runs`, which must be non-empty and share task and skill counts.
    public init(_ runs: [ContinualMetrics]) {
        precondition(!runs.isEmpty, "ContinualMetricsSpread needs at least one run")
        let first = runs[0]
        for (index, run) in runs.enumerated() {
            precondition(
                run.taskCount == first.taskCount && run.skillCount == first.skillCount,
                "ContinualMetricsSpread: run \(index) has T = \(run.taskCount), S = \(run.skillCount); "
                    + "run 0 has T = \(first.taskCount), S = \(first.skillCount)")
        }
        taskCount = first.taskCount
        skillCount = first.skillCount
        runCount = runs.count

        func spread(_ metric: (ContinualMetrics) -> Double?) -> SeedSpread? {
            let defined = runs.compactMap(metric)
            return defined.isEmpty ? nil : SeedSpread(defined)
        }
        averageAccuracy = SeedSpread(runs.map(\.averageAccuracy))
        bwt = spread(\.bwt)
        fwt = spread(\.fwt)
        forgettingChaudhry = spread(\.forgettingChaudhryMean)
        forgettingAvalanche = spread(\.forgettingAvalancheMean)
        learning = SeedSpread(runs.map(\.learningMean))
        skillRetention = spread(\.skillRetentionMean)
        skillDrop = spread(\.skillDropMean)
        learned = SeedSpread(runs.map(\.learned))
        forgotten = spread(\.forgotten)
    }
}

extension ContinualMetrics {
    /// Mean ± sample standard deviation of every scalar metric across seeds.
    public static func spread(_ runs: [ContinualMetrics]) -> ContinualMetricsSpread {
        ContinualMetricsSpread(runs)
    }
}
