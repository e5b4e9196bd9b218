import Analysis
import Foundation
import Testing
@testable import Workbench

@Suite("Analysis: forgetting per method from a results file")
struct AnalysisForgettingTests {
    static func twoSeeds(_ text: String) -> String { text.replacingOccurrences(of: "seeds: [0]", with: "seeds: [0, 1]") }

    @Test("per-cell rows are ContinualMetrics of the stored matrix; the summary is their spread over seeds")
    func perCellAndSpread() throws {
        try withTemporaryFolder { folder in
            let study = try writeStudy(Self.twoSeeds(tinyStudyText()), in: folder)
            let url = folder.appendingPathComponent("results.h5")
            _ = try runStudy(study, output: url)
            let results = try StudyResults(url: url)
            let report = try ForgettingAnalysis.run(results, filter: AnalysisFilter(), metric: .tokenAccuracy)
            #expect(!report.reused)
            let perCell = try #require(report.tables.first { $0.name == "forgetting_per_cell" })
            #expect(perCell.rows.count == 4, "2 configurations × 2 seeds")

            var learned: [Double] = []
            for cell in results.cells(label: "lora") {
                let expected = ContinualMetrics(try AccuracyMatrix(rows: try results.tokenAccuracy(cell), skillCount: 2))
                let row = try #require(perCell.rows.first { $0[0] == .text("lora") && $0[2] == .integer(cell.seed) })
                #expect(row[3] == .number(expected.averageAccuracy))
                #expect(row[4] == (expected.bwt.map { .number($0) } ?? .missing))
                #expect(row[9] == .number(expected.learned))
                learned.append(expected.learned)
            }
            let tradeOff = try #require(report.tables.first { $0.name == "learned_vs_forgotten" })
            let lora = try #require(tradeOff.rows.first { $0[0] == .text("lora") })
            let spread = SeedSpread(learned)
            #expect(lora[3] == .number(spread.mean) && lora[4] == .number(spread.standardDeviation))
            #expect(lora[8] == .integer(2))

            let perTask = try #require(report.tables.first { $0.name == "forgetting_per_task" })
            #expect(perTask.rows.count == 4 * 2, "cells × tasks")
            let last = try #require(perTask.rows.first { $0[4] == .integer(2) })
            #expect(last[9] == .missing && last[10] == .missing, "the last task has no forgetting")

            let again = try ForgettingAnalysis.run(StudyResults(url: url), filter: AnalysisFilter(), metric: .tokenAccuracy)
            #expect(again.reused && again.tables == report.tables)
            let wide = ForgettingAnalysis.display(again.tables)
            #expect(wide[0].rows.count == 2 && wide[0].rows[0][2] == .integer(2))
        }
    }

    @Test("filters select cells; a filter naming nothing in the file is refused with the choices")
    func filters() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            let report = try ForgettingAnalysis.run(results, filter: AnalysisFilter(methods: ["lora"]))
            #expect(report.tables.first { $0.name == "forgetting_per_cell" }?.rows.count == 1)
            do {
                try AnalysisFilter(methods: ["dora"]).validate(against: results)
                Issue.record("dora is not in the file")
            } catch let error as AnalysisError {
                #expect(error.description.contains("choices: full, lora"))
            }
            #expect(throws: AnalysisError.self) { try AnalysisFilter(seeds: [7]).cells(of: results) }
            #expect(AnalysisFilter(matrices: ["attn.q"]).selects(matrix: "blocks.0.attn.q.weight"))
            #expect(!AnalysisFilter(matrices: ["attn.q"]).selects(matrix: "blocks.0.mlp.fc.weight"))
            #expect(AnalysisFilter(matrices: [#"blocks\.\d+\.mlp\..*"#]).selects(matrix: "blocks.3.mlp.proj.weight"))
        }
    }
}
