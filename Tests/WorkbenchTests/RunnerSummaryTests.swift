import Testing
@testable import Workbench

/// The end-of-study table's figures, on accuracy matrices worked out by hand.
@Suite("Study summary")
struct RunnerSummaryTests {
    /// Columns: two skills, then tasks A and B; rows: base, after A, after B.
    static let kinds = ["skill", "skill", "task", "task"]
    static let r: [Double] = [
        0.8, 0.5, 0.0, 0.1,   // base
        0.4, 0.5, 0.9, 0.2,   // after task A
        0.2, 0.0, 0.3, 0.7,   // after task B
    ]

    @Test("just trained = mean of R[j][j]; final = mean of the last row's tasks; retention = mean of R[T][s] / R[0][s]")
    func figuresByHand() throws {
        let f = try #require(StudySummary.cellFigures(Self.r, rows: 3, kinds: Self.kinds))
        #expect(abs(f.justTrained - (0.9 + 0.7) / 2) < 1e-12)
        #expect(abs(f.final - (0.3 + 0.7) / 2) < 1e-12)
        let retention = try #require(f.retention)
        #expect(abs(retention - (0.2 / 0.8 + 0.0 / 0.5) / 2) < 1e-12)
    }

    @Test("skills the base never solved are left out of retention; none solved gives nil")
    func unsolvedSkills() {
        var r = Self.r
        r[1] = 0  // the base fails skill 2
        let f = StudySummary.cellFigures(r, rows: 3, kinds: Self.kinds)
        #expect(f?.retention.map { abs($0 - 0.2 / 0.8) < 1e-12 } == true)
        r[0] = 0
        #expect(StudySummary.cellFigures(r, rows: 3, kinds: Self.kinds)?.retention == .some(nil))
    }

    @Test("a matrix whose shape does not fit its column kinds gives no figures (the reader turns that into an error naming the file)")
    func mismatchedShape() {
        #expect(StudySummary.cellFigures(Self.r, rows: 2, kinds: Self.kinds) == nil)
        #expect(StudySummary.cellFigures(Array(Self.r.prefix(8)), rows: 2, kinds: Self.kinds) == nil)
        #expect(StudySummary.cellFigures([], rows: 0, kinds: []) == nil)
    }

    @Test("the table shows learned next to final accuracy, marks diverged seeds and explains its columns")
    func table() {
        let rows = [
            StudySummary.Row(label: "full", method: "full", seeds: 3, justTrainedAccuracy: 0.95, finalTaskAccuracy: 0.4,
                             baseSkillRetention: 0.25, wallTime: 12.3, diverged: 0),
            StudySummary.Row(label: "lora r=8", method: "lora", seeds: 3, justTrainedAccuracy: 0.9, finalTaskAccuracy: 0.35,
                             baseSkillRetention: nil, wallTime: 8, diverged: 1),
        ]
        let lines = StudySummary.table(rows).split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("method") && lines[0].contains("just trained") && lines[0].contains("final task acc"))
        #expect(lines[1].contains("0.950") && lines[1].contains("0.400") && lines[1].contains("0.250") && lines[1].hasSuffix("12.3s"))
        #expect(lines[2].hasPrefix("lora r=8 (diverged ×1)") && lines[2].contains("n/a"))
        #expect(lines[0].count == lines[1].count && lines[1].count == lines[2].count, "columns are aligned")
        #expect(lines.dropFirst(3).joined().contains("just trained: exact-match accuracy on each task right after training it"))
    }
}
