/// Why an accuracy matrix was rejected. Every case names the offending row and/or column and
/// the shape the matrix was expected to have.
public enum ForgettingError: Error, Equatable, CustomStringConvertible {
    /// The matrix has no rows at all.
    case empty
    /// Row `row` has `count` entries where row 0 has `expected`.
    case raggedRow(row: Int, count: Int, expected: Int)
    /// `skillCount` is negative or leaves no task columns (T = columns − S must be ≥ 1).
    case invalidSkillCount(skillCount: Int, columns: Int)
    /// There are `rows` rows; a matrix with T tasks needs T + 1 (the base row, then one per task).
    case wrongRowCount(rows: Int, expected: Int, taskCount: Int, skillCount: Int)
    /// The entry at (row, column) is NaN or ±∞.
    case nonFinite(row: Int, column: Int, value: Double)

    public var description: String {
        switch self {
        case .empty:
            return "accuracy matrix has no rows; need the base row plus one row per task"
        case let .raggedRow(row, count, expected):
            return "accuracy matrix row \(row) has \(count) columns, but row 0 has \(expected)"
        case let .invalidSkillCount(skillCount, columns):
            return "accuracy matrix with \(columns) columns cannot hold \(skillCount) skill columns "
                + "and at least one task column (need 0 ≤ skillCount < \(columns))"
        case let .wrongRowCount(rows, expected, taskCount, skillCount):
            return "accuracy matrix has \(rows) rows, but \(skillCount) skills + \(taskCount) tasks "
                + "need \(expected) (row 0 = base model, row t = after training task t)"
        case let .nonFinite(row, column, value):
            return "accuracy matrix entry at row \(row), column \(column) is \(value), not a finite number"
        }
    }
}
