/// The accuracy matrix R of a continual-learning run over T tasks, with S base skills tracked
/// alongside (GEM's R, Lopez-Paz & Ranzato 2017, extended with a base row and skill columns).
///
/// Conventions (used by every metric in `ContinualMetrics`):
/// - **Rows** are stages: row 0 is the base model before any training (zero-shot), row t is the
///   model after training task t, t = 1…T. So there are T + 1 rows.
/// - **Columns** are evaluations: first the S base skills (columns 0..<S), then the T tasks;
///   task j (1-based, j = 1…T) sits in column S + j − 1.
/// - Tasks are numbered 1…T like the papers; skills are numbered 0..<S like their columns.
///
/// Shape (T + 1) × (S + T): R[t][S + j − 1] is the accuracy on task j after training task t.
///
/// Columns need not be accuracies: each has a direction (`higherIsBetter`), and a column where
/// lower is better (mean NLL in nats/token) enters every difference `ContinualMetrics` takes as
/// its *score*, −R. Every measure then keeps the metric's units and one sign convention:
/// positive BWT, FWT, learning and learned = better; positive forgetting, skill drop and
/// forgotten = worse.
public struct AccuracyMatrix: Sendable, Equatable {
    /// The (T + 1) × (S + T) entries, row-major as given.
    public let rows: [[Double]]
    /// S, the number of base-skill columns at the left.
    public let skillCount: Int
    /// Per column: true when a higher value is better (accuracy), false when lower is (NLL).
    public let higherIsBetter: [Bool]

    /// T, the number of tasks trained in sequence (= rows − 1 = columns − S).
    public var taskCount: Int { rows.count - 1 }

    /// Validates the shape and the entries.
    ///
    /// - Throws: `ForgettingError` for no rows, ragged rows, a skill count that leaves no task
    ///   column, a row count other than T + 1, or a non-finite entry (first in row-major order).
    public init(rows: [[Double]], skillCount: Int, higherIsBetter: [Bool]? = nil) throws {
        guard let first = rows.first else { throw ForgettingError.empty }
        let columns = first.count
        for (index, row) in rows.enumerated() where row.count != columns {
            throw ForgettingError.raggedRow(row: index, count: row.count, expected: columns)
        }
        guard skillCount >= 0, skillCount < columns else {
            throw ForgettingError.invalidSkillCount(skillCount: skillCount, columns: columns)
        }
        let taskCount = columns - skillCount
        guard rows.count == taskCount + 1 else {
            throw ForgettingError.wrongRowCount(
                rows: rows.count, expected: taskCount + 1, taskCount: taskCount, skillCount: skillCount)
        }
        for (i, row) in rows.enumerated() {
            for (j, value) in row.enumerated() where !value.isFinite {
                throw ForgettingError.nonFinite(row: i, column: j, value: value)
            }
        }
        let directions = higherIsBetter ?? [Bool](repeating: true, count: columns)
        guard directions.count == columns else {
            throw ForgettingError.raggedRow(row: -1, count: directions.count, expected: columns)
        }
        self.rows = rows
        self.skillCount = skillCount
        self.higherIsBetter = directions
    }

    /// The score of task `task` after `stage`: R, or −R where lower is better.
    public func score(after stage: Int, task: Int) -> Double {
        let value = r(after: stage, task: task)
        return higherIsBetter[skillCount + task - 1] ? value : -value
    }

    /// The score of skill `skill` after `stage`: R, or −R where lower is better.
    public func score(after stage: Int, skill: Int) -> Double {
        let value = r(after: stage, skill: skill)
        return higherIsBetter[skill] ? value : -value
    }

    /// R[stage][task]: accuracy on task `task` (1…T) after training task `stage` (0 = base, 1…T).
    public func r(after stage: Int, task: Int) -> Double {
        precondition((0...taskCount).contains(stage), "AccuracyMatrix: stage \(stage) outside 0…\(taskCount)")
        precondition((1...taskCount).contains(task), "AccuracyMatrix: task \(task) outside 1…\(taskCount)")
        return rows[stage][skillCount + task - 1]
    }

    /// R[stage][skill]: accuracy on base skill `skill` (0..<S) after training task `stage` (0…T).
    public func r(after stage: Int, skill: Int) -> Double {
        precondition((0...taskCount).contains(stage), "AccuracyMatrix: stage \(stage) outside 0…\(taskCount)")
        precondition((0..<skillCount).contains(skill), "AccuracyMatrix: skill \(skill) outside 0..<\(skillCount)")
        return rows[stage][skill]
    }

    /// b_j = R[0][task]: the base model's zero-shot accuracy on task `task` (1…T).
    public func base(task: Int) -> Double { r(after: 0, task: task) }

    /// R[0][skill]: the base model's accuracy on base skill `skill` (0..<S).
    public func base(skill: Int) -> Double { r(after: 0, skill: skill) }
}
