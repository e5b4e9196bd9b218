import Analysis
import Foundation
import Testing

/// Metrics are sums of a handful of decimals: only Double rounding separates them from the
/// hand values.
private let metricTolerance = 1e-12

private func close(_ a: Double?, _ b: Double?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case let (a?, b?): return abs(a - b) <= metricTolerance
    default: return false
    }
}

private func close(_ a: [Double?], _ b: [Double?]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { close($0, $1) }
}

/// A hand-made run: S = 2 skills, T = 3 tasks. Columns: skill 0, skill 1, task 1, task 2, task 3.
///
///              s0    s1    t1    t2    t3
///     base   0.80  0.60  0.10  0.20  0.05
///     after1 0.75  0.58  0.90  0.25  0.10
///     after2 0.70  0.55  0.95  0.85  0.15
///     after3 0.60  0.50  0.70  0.80  0.88
///
/// Task 1 keeps improving after task 2 (0.90 → 0.95) before dropping to 0.70, so Chaudhry's
/// "max − last" and Avalanche's "first − last" forgetting differ on purpose.
func handMadeAccuracyMatrix() throws -> AccuracyMatrix {
    try AccuracyMatrix(
        rows: [
            [0.80, 0.60, 0.10, 0.20, 0.05],
            [0.75, 0.58, 0.90, 0.25, 0.10],
            [0.70, 0.55, 0.95, 0.85, 0.15],
            [0.60, 0.50, 0.70, 0.80, 0.88],
        ],
        skillCount: 2)
}

@Suite("ContinualMetrics on hand-computed accuracy matrices")
struct ForgettingMetricsTests {
    @Test("average accuracy A_T = mean of the last row over tasks")
    func averageAccuracy() throws {
        let m = ContinualMetrics(try handMadeAccuracyMatrix())
        // (0.70 + 0.80 + 0.88) / 3 = 2.38 / 3
        #expect(close(m.averageAccuracy, 2.38 / 3))
        #expect(m.taskCount == 3 && m.skillCount == 2)
    }

    @Test("GEM backward and forward transfer")
    func transfer() throws {
        let m = ContinualMetrics(try handMadeAccuracyMatrix())
        // BWT = ((R31 − R11) + (R32 − R22)) / 2 = ((0.70 − 0.90) + (0.80 − 0.85)) / 2 = −0.125
        #expect(close(m.bwt, -0.125))
        // FWT = ((R12 − b2) + (R23 − b3)) / 2 = ((0.25 − 0.20) + (0.15 − 0.05)) / 2 = 0.075
        #expect(close(m.fwt, 0.075))
    }

    @Test("Chaudhry (max − last) and Avalanche (first − last) forgetting differ where accuracy peaked late")
    func forgetting() throws {
        let m = ContinualMetrics(try handMadeAccuracyMatrix())
        // Chaudhry, task 1: max(R11, R21) − R31 = max(0.90, 0.95) − 0.70 = 0.25
        //           task 2: max(R12, R22) − R32 = max(0.25, 0.85) − 0.80 = 0.05
        //           task 3: undefined (it is the last task). Mean (0.25 + 0.05) / 2 = 0.15
        #expect(close(m.forgettingChaudhry, [0.25, 0.05, nil]))
        #expect(close(m.forgettingChaudhryMean, 0.15))
        // Avalanche, task 1: R11 − R31 = 0.90 − 0.70 = 0.20
        //            task 2: R22 − R32 = 0.85 − 0.80 = 0.05. Mean 0.125 = −BWT.
        #expect(close(m.forgettingAvalanche, [0.20, 0.05, nil]))
        #expect(close(m.forgettingAvalancheMean, 0.125))
        #expect(close(m.forgettingAvalancheMean, m.bwt.map { -$0 }))
    }

    @Test("learning R[j][j] − R[j−1][j] and learned R[j][j] − R[0][j]")
    func learning() throws {
        let m = ContinualMetrics(try handMadeAccuracyMatrix())
        // learning: 0.90 − 0.10 = 0.80, 0.85 − 0.25 = 0.60, 0.88 − 0.15 = 0.73; mean 2.13 / 3 = 0.71
        #expect(close(m.learning, [0.80, 0.60, 0.73]))
        #expect(close(m.learningMean, 0.71))
        // learned: 0.90 − 0.10 = 0.80, 0.85 − 0.20 = 0.65, 0.88 − 0.05 = 0.83; mean 2.28 / 3 = 0.76
        #expect(close(m.learned, 0.76))
    }

    @Test("skill retention R[T][s] / R[0][s], skill drop and Biderman's forgotten")
    func skills() throws {
        let m = ContinualMetrics(try handMadeAccuracyMatrix())
        // retention: 0.60 / 0.80 = 0.75, 0.50 / 0.60 = 5/6; mean (0.75 + 5/6) / 2 = 19/24
        #expect(close(m.skillRetention, [0.75, 5.0 / 6.0]))
        #expect(close(m.skillRetentionMean, 19.0 / 24.0))
        // drop: 0.80 − 0.60 = 0.20, 0.60 − 0.50 = 0.10; mean 0.15
        #expect(close(m.skillDrop, [0.20, 0.10]))
        #expect(close(m.skillDropMean, 0.15))
        #expect(close(m.forgotten, 0.15))
    }

    @Test("T = 1: transfer and forgetting are undefined, learning and skills are not")
    func singleTask() throws {
        // S = 1: columns skill 0, task 1.
        let m = ContinualMetrics(try AccuracyMatrix(rows: [[0.5, 0.1], [0.4, 0.9]], skillCount: 1))
        #expect(m.taskCount == 1)
        #expect(close(m.averageAccuracy, 0.9))
        #expect(m.bwt == nil)
        #expect(m.fwt == nil)
        #expect(close(m.forgettingChaudhry, [nil]))
        #expect(close(m.forgettingAvalanche, [nil]))
        #expect(m.forgettingChaudhryMean == nil)
        #expect(m.forgettingAvalancheMean == nil)
        // learning = learned = 0.9 − 0.1 = 0.8; retention 0.4 / 0.5 = 0.8; drop 0.5 − 0.4 = 0.1
        #expect(close(m.learning, [0.8]))
        #expect(close(m.learned, 0.8))
        #expect(close(m.skillRetention, [0.8]))
        #expect(close(m.forgotten, 0.1))
    }

    @Test("a skill the base model scores 0 on has no retention ratio; no skills leaves skill means nil")
    func undefinedSkills() throws {
        // Skill 0 at base 0 → no ratio; skill 1: 0.3 / 0.6 = 0.5. Drops: −0.2 (gained), 0.3.
        let m = ContinualMetrics(try AccuracyMatrix(rows: [[0.0, 0.6, 0.1], [0.2, 0.3, 0.7]], skillCount: 2))
        #expect(close(m.skillRetention, [nil, 0.5]))
        #expect(close(m.skillRetentionMean, 0.5))
        #expect(close(m.skillDrop, [-0.2, 0.3]))
        #expect(close(m.forgotten, 0.05))

        let noSkills = ContinualMetrics(try AccuracyMatrix(rows: [[0.1], [0.7]], skillCount: 0))
        #expect(noSkills.skillRetention.isEmpty && noSkills.skillDrop.isEmpty)
        #expect(noSkills.skillRetentionMean == nil && noSkills.skillDropMean == nil && noSkills.forgotten == nil)
    }

    @Test("metrics round-trip through JSON, undefined entries as null")
    func codable() throws {
        let m = ContinualMetrics(try handMadeAccuracyMatrix())
        let data = try JSONEncoder().encode(m)
        #expect(try JSONDecoder().decode(ContinualMetrics.self, from: data) == m)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("null"), "the last task's forgetting should encode as null: \(text)")
    }
}

/// A column where lower is better (mean NLL, nats/token) enters every difference as −R, so the
/// signs keep their meaning. S = 1 NLL skill, T = 2 tasks (exact match, and NLL):
///
///              nll    t1(acc)  t2(nll)
///     base    3.00    0.10     2.50
///     after1  3.20    0.90     2.40
///     after2  3.50    0.60     1.50
@Suite struct ForgettingLowerIsBetterTests {
    static let R = try! AccuracyMatrix(rows: [[3.00, 0.10, 2.50], [3.20, 0.90, 2.40], [3.50, 0.60, 1.50]], skillCount: 1,
                                       higherIsBetter: [false, true, false])

    @Test("BWT and forgetting of an accuracy task keep their usual values; FWT and learning of an NLL task are NLL drops")
    func signsByHand() {
        let m = ContinualMetrics(Self.R)
        #expect(close(m.bwt, 0.60 - 0.90))                  // task 1 lost 0.30 of accuracy
        #expect(close(m.forgettingAvalanche, [0.30, nil]))
        #expect(close(m.fwt, -2.40 - (-2.50)))              // task 2's NLL fell 0.10 before it was trained: +0.10
        #expect(close(m.learning[1], -1.50 - (-2.40)))      // training task 2 cut its NLL by 0.90
        #expect(close(m.learned, ((0.90 - 0.10) + (2.50 - 1.50)) / 2))
        #expect(close(m.skillDrop, [3.50 - 3.00]))          // the NLL skill rose 0.50 nats: forgotten = +0.50
        #expect(close(m.forgotten, 0.50))
        #expect(close(m.skillRetention, [3.00 / 3.50]))     // base / final ≤ 1 when worse
        #expect(close(m.averageAccuracy, (0.60 + 1.50) / 2)) // A_T averages raw values
    }

    @Test("all columns higher-is-better by default: the same metrics as before directions existed")
    func defaultDirection() throws {
        let rows = [[0.8, 0.1, 0.2], [0.7, 0.9, 0.3], [0.6, 0.8, 0.9]]
        let plain = ContinualMetrics(try AccuracyMatrix(rows: rows, skillCount: 1))
        let explicit = ContinualMetrics(try AccuracyMatrix(rows: rows, skillCount: 1, higherIsBetter: [true, true, true]))
        #expect(plain == explicit)
        #expect(close(plain.forgotten, 0.2))
    }
}
