import Analysis
import Testing

@Suite("AccuracyMatrix: shape, indexing and validation")
struct ForgettingAccuracyMatrixTests {
    /// 1 skill, 2 tasks: columns [skill 0, task 1, task 2]; rows base, after task 1, after task 2.
    private let rows: [[Double]] = [
        [0.9, 0.1, 0.2],
        [0.8, 0.7, 0.3],
        [0.6, 0.5, 0.9],
    ]

    @Test("tasks are 1-based at column S + j − 1, skills 0-based, row 0 is the base model")
    func indexing() throws {
        let r = try AccuracyMatrix(rows: rows, skillCount: 1)
        #expect(r.taskCount == 2)
        #expect(r.skillCount == 1)
        #expect(r.r(after: 1, task: 1) == 0.7)
        #expect(r.r(after: 1, task: 2) == 0.3)
        #expect(r.r(after: 2, task: 1) == 0.5)
        #expect(r.r(after: 2, skill: 0) == 0.6)
        #expect(r.base(task: 2) == 0.2)
        #expect(r.base(skill: 0) == 0.9)
    }

    @Test("a ragged row is rejected, naming the row and both column counts")
    func ragged() {
        var bad = rows
        bad[2] = [0.6, 0.5]
        #expect(throws: ForgettingError.raggedRow(row: 2, count: 2, expected: 3)) {
            try AccuracyMatrix(rows: bad, skillCount: 1)
        }
        #expect(ForgettingError.raggedRow(row: 2, count: 2, expected: 3).description.contains("row 2"))
    }

    @Test("NaN and infinity are rejected, naming row and column")
    func nonFinite() {
        var bad = rows
        bad[1][2] = .nan
        #expect {
            try AccuracyMatrix(rows: bad, skillCount: 1)
        } throws: { error in
            guard case let ForgettingError.nonFinite(row, column, value) = error else { return false }
            return row == 1 && column == 2 && value.isNaN
        }
        bad[1][2] = 0.3
        bad[0][0] = .infinity
        #expect(throws: ForgettingError.nonFinite(row: 0, column: 0, value: .infinity)) {
            try AccuracyMatrix(rows: bad, skillCount: 1)
        }
        let message = ForgettingError.nonFinite(row: 1, column: 2, value: .nan).description
        #expect(message.contains("row 1") && message.contains("column 2"))
    }

    @Test("rows must number T + 1 where T = columns − S")
    func rowCount() {
        // 3 columns with 1 skill → T = 2 tasks → 3 rows; 2 rows is one short.
        #expect(throws: ForgettingError.wrongRowCount(rows: 2, expected: 3, taskCount: 2, skillCount: 1)) {
            try AccuracyMatrix(rows: Array(rows.prefix(2)), skillCount: 1)
        }
        // With 0 skills, T = 3 tasks need 4 rows.
        #expect(throws: ForgettingError.wrongRowCount(rows: 3, expected: 4, taskCount: 3, skillCount: 0)) {
            try AccuracyMatrix(rows: rows, skillCount: 0)
        }
    }

    @Test("a skill count leaving no task column, or no rows at all, is rejected")
    func degenerate() {
        #expect(throws: ForgettingError.invalidSkillCount(skillCount: 3, columns: 3)) {
            try AccuracyMatrix(rows: rows, skillCount: 3)
        }
        #expect(throws: ForgettingError.invalidSkillCount(skillCount: -1, columns: 3)) {
            try AccuracyMatrix(rows: rows, skillCount: -1)
        }
        #expect(throws: ForgettingError.empty) {
            try AccuracyMatrix(rows: [], skillCount: 0)
        }
    }
}
