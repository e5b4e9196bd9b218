import Analysis
import Foundation
import PEFTEngine
import Testing
@testable import Workbench

@Suite("Analysis: rank spectrum of ΔW from a results file")
struct AnalysisSpectrumTests {
    /// Rows of `table` as dictionaries keyed by column name.
    static func records(_ report: AnalysisReport, _ name: String) throws -> [[String: TidyTable.Value]] {
        try #require(report.tables.first { $0.name == name }).records()
    }

    static func row(_ rows: [[String: TidyTable.Value]], label: String, stage: Int, matrix: String, kind: String) throws -> [String: TidyTable.Value] {
        try #require(rows.first {
            $0["label"] == .text(label) && $0["stage"] == .integer(stage) && $0["matrix"] == .text(matrix) && $0["kind"] == .text(kind)
        })
    }

    /// The measures a `spectrum` row must carry for `s`.
    static func expectMatches(_ row: [String: TidyTable.Value], _ s: RankSpectrum) {
        #expect(row["rows"] == .integer(s.rows) && row["columns"] == .integer(s.columns))
        #expect(row["frobenius_norm"] == .number(s.frobeniusNormSquared.squareRoot()))
        #expect(row["spectral_norm"] == .number(s.spectralNorm))
        #expect(row["stable_rank"] == .number(s.stableRank))
        #expect(row["effective_rank"] == .number(s.effectiveRank))
        #expect(row["energy_rank_90"] == s.energyRank90.map { .integer($0) } ?? .missing)
        #expect(row["numerical_rank"] == .integer(s.numericalRank))
    }

    @Test("rows are RankSpectrum of the stored ΔW (cumulative) and of ΔW₂ − ΔW₁ (increment); LoRA r = 2 has rank ≤ 2; W0 once per seed × matrix")
    func rowsFollowTheConventions() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            let report = try SpectrumAnalysis.run(results, filter: AnalysisFilter())
            #expect(!report.reused)
            let rows = try Self.records(report, "spectrum")
            let lora = try #require(results.cells(method: "lora").first)
            let names = try results.deltaNames(lora, afterTask: 1)
            let matrix = "blocks.0.mlp.fc.weight"

            let loraRows = rows.filter { $0["label"] == .text("lora") }
            #expect(loraRows.count == 2 * names.count * 2, "stages × matrices × {cumulative, increment}")
            #expect(loraRows.allSatisfy { $0["lora_r"] == .integer(2) })
            for r in loraRows where r["kind"] == .text("cumulative") || r["stage"] == .integer(1) {
                guard case .integer(let rank) = r["numerical_rank"] else { Issue.record("numerical_rank missing"); continue }
                #expect(rank <= 2, "B·A with r = 2 has rank ≤ 2: \(r)")
            }
            #expect(rows.filter { $0["label"] == .text("full") }.allSatisfy { $0["lora_r"] == .missing })

            let stored2 = try results.delta(lora, afterTask: 2, name: matrix)
            let stored1 = try results.delta(lora, afterTask: 1, name: matrix)
            Self.expectMatches(try Self.row(rows, label: "lora", stage: 2, matrix: matrix, kind: "cumulative"), try RankSpectrum.of(stored2))
            var own = stored2.storage
            for i in own.indices { own[i] -= stored1.storage[i] }
            Self.expectMatches(try Self.row(rows, label: "lora", stage: 2, matrix: matrix, kind: "increment"),
                               try RankSpectrum.of(Tensor(shape: stored2.shape, storage: own)))
            Self.expectMatches(try Self.row(rows, label: "lora", stage: 1, matrix: matrix, kind: "increment"), try RankSpectrum.of(stored1))

            let base = rows.filter { $0["kind"] == .text("base") }
            #expect(base.count == results.seeds.count * names.count, "one W0 row per seed × matrix")
            #expect(Set(base.compactMap { $0["matrix"]?.description }) == Set(names))
            Self.expectMatches(try Self.row(rows, label: "base", stage: 0, matrix: matrix, kind: "base"),
                               try RankSpectrum.of(results.baseWeight(seed: 0, name: matrix)))
            #expect(base.allSatisfy { $0["svd_mode"] == .text("exact") && $0["svd_relative_residual"] == .missing })

            var expectedValues = 0
            for r in rows {
                guard case .integer(let m) = r["rows"], case .integer(let n) = r["columns"] else { continue }
                expectedValues += min(m, n)
            }
            #expect(try Self.records(report, "singular_values").count == expectedValues, "Σ min(m, n) over the spectrum rows")
            #expect(try Self.records(report, "spectrum_measures").count == rows.count * SpectrumAnalysis.measureNames.count)

            let summary = try Self.records(report, "spectrum_summary")
            #expect(summary.count == 1 + 2 * 2 * 2, "base + {full, lora} × stages × kinds")
            #expect(SpectrumAnalysis.display(report.tables).map(\.name) == ["spectrum_summary"])

            let again = try SpectrumAnalysis.run(StudyResults(url: results.url), filter: AnalysisFilter())
            #expect(again.reused && again.tables == report.tables)
        }
    }

    @Test("the matrix and task filters restrict the rows; --top-k gives a seeded randomized spectrum")
    func filtersAndTopK() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            let filter = AnalysisFilter(tasks: ["mod7"], matrices: ["attn.q"])
            let report = try SpectrumAnalysis.run(results, filter: filter)
            let rows = try Self.records(report, "spectrum")
            #expect(rows.allSatisfy { $0["matrix"] == .text("blocks.0.attn.q.weight") })
            #expect(rows.count == 1 + 2 * 2, "W0 + {full, lora} × {cumulative, increment} at stage 2")
            #expect(rows.filter { $0["kind"] != .text("base") }.allSatisfy { $0["stage"] == .integer(2) })

            let topK = try SpectrumAnalysis.run(results, filter: AnalysisFilter(matrices: ["mlp"]), topK: 2)
            let sketched = try Self.records(topK, "spectrum")
            #expect(!sketched.isEmpty && sketched.allSatisfy { $0["svd_mode"] == .text("randomized") })
            #expect(sketched.allSatisfy { if case .number(let r) = $0["svd_relative_residual"] { r >= 0 && r <= 1 } else { false } })
            #expect(try Self.records(topK, "singular_values").count == 2 * sketched.count)
            let twice = try SpectrumAnalysis.run(results, filter: AnalysisFilter(matrices: ["mlp"]), topK: 2, recompute: true)
            #expect(!twice.reused && twice.tables == topK.tables, "deterministic")
            #expect(throws: AnalysisError.self) { try SpectrumAnalysis.run(results, filter: AnalysisFilter(), topK: 0) }
        }
    }

    @Test("per-task has no cumulative kind and its increment is the stored ΔW; merge's increment is ΔW₂ − ΔW₁")
    func protocols() throws {
        try withTemporaryFolder { folder in
            let methods = "  - {method: lora, r: 2, lora_alpha: 4, protocol: per-task, label: lora-pt}\n  - {method: lora, r: 2, lora_alpha: 4, protocol: merge, label: lora-merge}\n"
            let results = try tinyResults(in: folder, methods: methods)
            let rows = try Self.records(try SpectrumAnalysis.run(results, filter: AnalysisFilter(matrices: ["mlp.fc"])), "spectrum")
            let matrix = "blocks.0.mlp.fc.weight"
            let perTask = try #require(results.cells(label: "lora-pt").first)
            #expect(rows.filter { $0["label"] == .text("lora-pt") }.map { $0["kind"] } == [.text("increment"), .text("increment")])
            Self.expectMatches(try Self.row(rows, label: "lora-pt", stage: 2, matrix: matrix, kind: "increment"),
                               try RankSpectrum.of(results.delta(perTask, afterTask: 2, name: matrix)))

            let merge = try #require(results.cells(label: "lora-merge").first)
            let stored2 = try results.delta(merge, afterTask: 2, name: matrix), stored1 = try results.delta(merge, afterTask: 1, name: matrix)
            var own = stored2.storage
            for i in own.indices { own[i] -= stored1.storage[i] }
            Self.expectMatches(try Self.row(rows, label: "lora-merge", stage: 2, matrix: matrix, kind: "cumulative"), try RankSpectrum.of(stored2))
            Self.expectMatches(try Self.row(rows, label: "lora-merge", stage: 2, matrix: matrix, kind: "increment"),
                               try RankSpectrum.of(Tensor(shape: stored2.shape, storage: own)))
        }
    }
}

@Suite("Analysis: spectrum names the methods it cannot measure")
struct AnalysisSpectrumSelectionTests {
    @Test("selecting only methods without ΔW is an error naming the methods that have one; a mix keeps a note")
    func methodsWithoutDelta() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder, methods: "  - {method: lora, r: 2, lora_alpha: 4}\n  - {method: prompt, num_virtual_tokens: 2}\n")
            #expect {
                try SpectrumAnalysis.run(results, filter: AnalysisFilter(methods: ["prompt"]))
            } throws: { error in
                guard case AnalysisError.missing(_, _, let hint) = error else { return false }
                return hint.contains("prompt store no ΔW") && hint.contains("methods with ΔW in this file: lora")
            }
            let report = try SpectrumAnalysis.run(results, filter: AnalysisFilter())
            #expect(report.notes.contains("Left out, no weight-space ΔW: prompt."))
            #expect(!report.tables[0].rows.isEmpty)
        }
    }
}
