import Analysis
import Testing

private let spreadTolerance = 1e-12

@Suite("SeedSpread and ContinualMetrics.spread across seeds")
struct ForgettingSeedSpreadTests {
    @Test("mean, sample standard deviation (n − 1), min, max against hand values")
    func handValues() {
        // 0.80, 0.83, 0.77: mean 0.80; deviations 0, +0.03, −0.03; Σd² = 0.0018;
        // s² = 0.0018 / 2 = 0.0009, s = 0.03.
        let s = SeedSpread([0.80, 0.83, 0.77])
        #expect(abs(s.mean - 0.80) < spreadTolerance)
        #expect(abs(s.standardDeviation - 0.03) < spreadTolerance)
        #expect(s.count == 3)
        #expect(s.min == 0.77 && s.max == 0.83)
        #expect(s.description == "0.800 ± 0.030 (n=3)")
        #expect(s.formatted(decimals: 1) == "0.8 ± 0.0 (n=3)")
    }

    @Test("one seed has standard deviation 0")
    func single() {
        let s = SeedSpread([0.5])
        #expect(s.mean == 0.5 && s.standardDeviation == 0 && s.count == 1 && s.min == 0.5 && s.max == 0.5)
        #expect(s.description == "0.500 ± 0.000 (n=1)")
    }

    @Test("spread aggregates every scalar metric; metrics undefined in every run stay nil")
    func metricsSpread() throws {
        // Two seeds of a T = 1, S = 1 run: columns skill 0, task 1.
        // Seed A: A_T = 0.9, learned 0.8, forgotten 0.1. Seed B: A_T = 0.7, learned 0.7, forgotten 0.3.
        let a = ContinualMetrics(try AccuracyMatrix(rows: [[0.5, 0.1], [0.4, 0.9]], skillCount: 1))
        let b = ContinualMetrics(try AccuracyMatrix(rows: [[0.5, 0.0], [0.2, 0.7]], skillCount: 1))
        let spread = ContinualMetrics.spread([a, b])
        #expect(spread.runCount == 2 && spread.taskCount == 1 && spread.skillCount == 1)
        // A_T: mean 0.8, s = √(((0.1)² + (0.1)²) / 1) = √0.02
        #expect(abs(spread.averageAccuracy.mean - 0.8) < spreadTolerance)
        #expect(abs(spread.averageAccuracy.standardDeviation - 0.02.squareRoot()) < spreadTolerance)
        // learned: 0.8 and 0.7 → mean 0.75; forgotten: 0.1 and 0.3 → mean 0.2
        #expect(abs(spread.learned.mean - 0.75) < spreadTolerance)
        #expect(abs(try #require(spread.forgotten).mean - 0.2) < spreadTolerance)
        // retention 0.8 and 0.4 → mean 0.6, min 0.4, max 0.8
        let retention = try #require(spread.skillRetention)
        #expect(abs(retention.mean - 0.6) < spreadTolerance && retention.min == 0.4 && retention.max == 0.8)
        #expect(spread.bwt == nil && spread.fwt == nil)
        #expect(spread.forgettingChaudhry == nil && spread.forgettingAvalanche == nil)
    }

    @Test("identical runs spread to their own values with zero deviation")
    func identicalRuns() throws {
        let m = ContinualMetrics(try handMadeAccuracyMatrix())
        let spread = ContinualMetrics.spread([m, m, m])
        // BWT = −0.125 in every run (see ForgettingMetricsTests): mean −0.125, s = 0.
        let bwt = try #require(spread.bwt)
        #expect(abs(bwt.mean - (-0.125)) < spreadTolerance && bwt.standardDeviation == 0 && bwt.count == 3)
        #expect(try #require(spread.forgettingChaudhry).mean == m.forgettingChaudhryMean)
        #expect(try #require(spread.forgettingChaudhry).standardDeviation == 0)
        #expect(spread.learning.count == 3)
    }
}
