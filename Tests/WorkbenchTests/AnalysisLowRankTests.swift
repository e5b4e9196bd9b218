@testable import Analysis
import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// Float32 SVD round-off allowed on the small matrices below (entries of order 1).
private let svdTolerance: Double = 1e-4

@Suite("Analysis: rank truncation of a matrix (Eckart–Young)")
struct RankTruncationTests {
    @Test("a diagonal matrix keeps its k largest entries; energy kept is Σ_{i≤k}σ²/Σσ² by hand")
    func diagonalMatrix() throws {
        // 4×3 with singular values 3, 2, 1 (placed out of order to check the sort).
        var a = Tensor(shape: [4, 3])
        a[0, 1] = 2; a[1, 0] = -3; a[2, 2] = 1
        let truncation = try RankTruncation(a)
        #expect(truncation.fullRank == 3)
        #expect(truncation.singularValues.map { Double($0) }.enumerated().allSatisfy { abs($1 - [3, 2, 1][$0]) < svdTolerance })
        let rank1 = truncation.approximation(rank: 1)
        #expect(abs(Double(rank1[1, 0]) + 3) < svdTolerance)
        #expect(rank1.storage.enumerated().allSatisfy { $0.offset == 3 || abs(Double($0.element)) < svdTolerance })
        #expect(abs(truncation.energyKept(rank: 1)! - 9.0 / 14) < svdTolerance)
        #expect(abs(truncation.energyKept(rank: 2)! - 13.0 / 14) < svdTolerance)
        #expect(truncation.energyKept(rank: 0) == 0 && abs(truncation.energyKept(rank: 3)! - 1) < svdTolerance)
        #expect(truncation.approximation(rank: 0).storage.allSatisfy { $0 == 0 }, "k = 0 removes the matrix")
        #expect(try RankTruncation(Tensor(shape: [2, 2])).energyKept(rank: 1) == nil, "the zero matrix has no energy")
    }

    @Test("the rank-k error is sqrt of the tail energy, and the BLAS product matches the plain loops")
    func errorIsTailEnergy() throws {
        var rng = SeededRNG(seed: 7)
        let a = Tensor(shape: [7, 5], storage: (0..<35).map { _ in rng.nextFloat() * 2 - 1 })
        let truncation = try RankTruncation(a)
        for k in 0...5 {
            let approx = truncation.approximation(rank: k)
            let error = Double((a - approx).frobeniusNorm())
            #expect(abs(error - truncation.tailNorm(rank: k)) < svdTolerance, "k = \(k): ‖A − A_k‖_F = \(error)")
            let reference = truncation.approximationReference(rank: k)
            #expect(zip(approx.storage, reference.storage).allSatisfy { abs(Double($0 - $1)) < svdTolerance })
        }
        #expect(truncation.tailNorm(rank: 5) == 0 && truncation.approximation(rank: 9).shape == [7, 5], "k above min(m, n) is full")
    }

    @Test("default ranks: 0, powers of two below min(out, in), then min(out, in)")
    func defaultRanks() {
        #expect(LowRankOptions.defaultRanks(fullRank: 16) == [0, 1, 2, 4, 8, 16])
        #expect(LowRankOptions.defaultRanks(fullRank: 12) == [0, 1, 2, 4, 8, 12])
        #expect(LowRankOptions.defaultRanks(fullRank: 1) == [0, 1])
    }

    @Test("gain recovered = (acc_k − acc_0)/(acc_full − acc_0), missing without a gain")
    func gainRecovered() {
        #expect(LowRankMeasures.gainRecovered(acc: 0.5, acc0: 0.25, accFull: 0.75) == 0.5)
        #expect(LowRankMeasures.gainRecovered(acc: 0.125, acc0: 0.25, accFull: 0.75) == -0.25)
        #expect(LowRankMeasures.gainRecovered(acc: 0.5, acc0: 0.5, accFull: 0.5) == nil)
    }
}

@Suite("Analysis: the low-rank test on a tiny study")
struct AnalysisLowRankTests {
    /// Rows of `table` whose column `name` holds `value`.
    func rows(_ table: TidyTable, where conditions: [String: TidyTable.Value]) -> [[String: TidyTable.Value]] {
        table.records().filter { record in conditions.allSatisfy { record[$0.key] == $0.value } }
    }

    /// A value with whole-number doubles and integers alike (a stored table's JSON reads 1.0 back as 1).
    func numeric(_ v: TidyTable.Value) -> String {
        switch v {
        case .integer(let i): return "\(Double(i))"
        case .number(let x): return "\(x)"
        default: return v.description
        }
    }

    func number(_ v: TidyTable.Value?) -> Double? {
        if case .number(let x)? = v { return x }
        return nil
    }

    @Test("k = full reproduces the stored row; k = 0 equals the trained model with every ΔW removed")
    func fullAndZeroRank() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            // Token accuracy: the tiny model's exact match is still 0 everywhere.
            let tables = try LowRankTest.tables(results, options: LowRankOptions(modes: ["all", "attn.q"], metric: .tokenAccuracy))
            let curve = tables[0]
            let full = try #require(results.cells(method: "full").first)
            let stored = try results.tokenAccuracy(full)
            #expect(stored[1][2] != stored[0][2] && stored[2][3] != stored[0][3], "the tiny study learns something")
            let skills = results.skillNames.count
            let evaluator = try StudyEvaluator(results: results)
            for t in 1...2 {
                let atFull = try #require(rows(curve, where: ["method": .text("full"), "stage": .integer(t), "mode": .text("all"), "k": .integer(16)]).first)
                #expect(atFull["acc_new_task"] == .number(stored[t][skills + t - 1]), "acc_full is the stored R[t][t]")
                #expect(atFull["acc_skills"] == .number((stored[t][0] + stored[t][1]) / 2))
                #expect(atFull["skill_drop"] == .number(((stored[0][0] - stored[t][0]) + (stored[0][1] - stored[t][1])) / 2))
                #expect(number(atFull["energy_kept"]).map { abs($0 - 1) < svdTolerance } == true)
                if t == 2 {
                    #expect(atFull["acc_earlier_tasks"] == .number(stored[2][skills]), "the stored R[2][rev]")
                    #expect(atFull["forgetting_earlier_tasks"] == .number(stored[1][skills] - stored[2][skills]))
                } else {
                    #expect(atFull["acc_earlier_tasks"] == .missing && atFull["forgetting_earlier_tasks"] == .missing)
                }

                var overrides: [String: Tensor] = [:]
                for name in try results.trainedBaseNames(full, afterTask: t) {
                    overrides[name] = try results.trainedBase(full, afterTask: t, name: name)
                }
                for name in try results.deltaNames(full, afterTask: t) { overrides[name] = try results.baseWeight(seed: 0, name: name) }
                let removed = try evaluator.evaluate(seed: 0, overrides: overrides).map(\.tokenAccuracy)
                let atZero = try #require(rows(curve, where: ["method": .text("full"), "stage": .integer(t), "mode": .text("all"), "k": .integer(0)]).first)
                #expect(atZero["acc_new_task"] == .number(removed[skills + t - 1]))
                #expect(atZero["acc_skills"] == .number((removed[0] + removed[1]) / 2))
                #expect(atZero["energy_kept"] == .number(0))
                let acc0 = removed[skills + t - 1], accFull = stored[t][skills + t - 1]
                for k in [0, 1, 2, 4, 8, 16] {
                    let row = try #require(rows(curve, where: ["method": .text("full"), "stage": .integer(t), "mode": .text("all"), "k": .integer(k)]).first)
                    let expected = LowRankMeasures.gainRecovered(acc: number(row["acc_new_task"])!, acc0: acc0, accFull: accFull)
                    #expect(row["gain_recovered"] == expected.map(TidyTable.Value.number) ?? .missing)
                }
            }
            #expect(rows(curve, where: ["mode": .text("attn.q")]).count == 12, "2 stages × 6 ranks")
            #expect(rows(curve, where: ["mode": .text("attn.k")]).isEmpty, "only the modes asked for")
        }
    }

    @Test("matrices_only: k = 0 is the base model (the stored row before any task); k = full is the trained matrices with every other parameter the base's")
    func matricesOnly() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            let curve = try LowRankTest.tables(results, options: LowRankOptions(modes: ["matrices_only"], metric: .tokenAccuracy))[0]
            let full = try #require(results.cells(method: "full").first)
            let stored = try results.tokenAccuracy(full)
            let skills = results.skillNames.count
            let evaluator = try StudyEvaluator(results: results)
            for t in 1...2 {
                let atZero = try #require(rows(curve, where: ["method": .text("full"), "stage": .integer(t), "mode": .text("matrices_only"), "k": .integer(0)]).first)
                #expect(atZero["acc_new_task"] == .number(stored[0][skills + t - 1]), "the base's accuracy on task \(t)")
                #expect(atZero["acc_skills"] == .number((stored[0][0] + stored[0][1]) / 2))
                #expect(atZero["skill_drop"] == .number(0))

                var matrices: [String: Tensor] = [:]
                for name in try results.deltaNames(full, afterTask: t) { matrices[name] = try results.trainedBase(full, afterTask: t, name: name) }
                #expect(try results.trainedBaseNames(full, afterTask: t).count > matrices.count, "the cell also trained embeddings and norms")
                let matricesAlone = try evaluator.evaluate(seed: 0, overrides: matrices).map(\.tokenAccuracy)
                let atFull = try #require(rows(curve, where: ["method": .text("full"), "stage": .integer(t), "mode": .text("matrices_only"), "k": .integer(16)]).first)
                #expect(atFull["acc_new_task"] == .number(matricesAlone[skills + t - 1]))
                let acc0 = stored[0][skills + t - 1], accFull = matricesAlone[skills + t - 1]
                for k in [1, 4] {
                    let row = try #require(rows(curve, where: ["method": .text("full"), "stage": .integer(t), "mode": .text("matrices_only"), "k": .integer(k)]).first)
                    let expected = LowRankMeasures.gainRecovered(acc: number(row["acc_new_task"])!, acc0: acc0, accFull: accFull)
                    #expect(row["gain_recovered"] == expected.map(TidyTable.Value.number) ?? .missing)
                }
            }
        }
    }

    @Test("LoRA rows carry k = r from the configuration and the stored accuracies; the summary counts seeds")
    func loraRows() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            let options = LowRankOptions(ranks: [0, 16], modes: ["all"], metric: .tokenAccuracy)
            let report = try LowRankTest.run(results, options: options)
            let curve = report.tables[0], summary = report.tables[1]
            let lora = try #require(results.cells(method: "lora").first)
            #expect(try LowRankTest.rank(of: lora, in: results) == 2)
            let stored = try results.tokenAccuracy(lora)
            for t in 1...2 {
                let row = try #require(rows(curve, where: ["method": .text("lora"), "stage": .integer(t)]).first)
                #expect(row["k"] == .integer(2) && row["mode"] == .text("lora") && row["energy_kept"] == .missing)
                #expect(row["acc_new_task"] == .number(stored[t][2 + t - 1]))
                let acc0 = number(rows(curve, where: ["method": .text("full"), "stage": .integer(t), "k": .integer(0)]).first?["acc_new_task"])!
                let accFull = number(rows(curve, where: ["method": .text("full"), "stage": .integer(t), "k": .integer(16)]).first?["acc_new_task"])!
                let expected = LowRankMeasures.gainRecovered(acc: stored[t][2 + t - 1], acc0: acc0, accFull: accFull)
                #expect(row["gain_recovered"] == expected.map(TidyTable.Value.number) ?? .missing)
            }
            #expect(curve.rows.count == 2 * 2 + 2, "full: 2 stages × 2 ranks; lora: 2 stages")
            #expect(summary.rows.count == curve.rows.count, "one seed: one summary row per curve row")
            #expect(summary.values("acc_new_task_n").allSatisfy { $0 == .integer(1) })
            #expect(summary.values("acc_new_task_std").allSatisfy { $0 == .missing }, "no std from one seed")
            #expect(summary.values("acc_new_task_mean") == curve.values("acc_new_task"))

            let again = try LowRankTest.run(try StudyResults(url: results.url), options: options)
            #expect(again.reused, "the second run reads the stored tables back")
            for (stored, computed) in zip(again.tables, report.tables) {
                #expect(stored.name == computed.name && stored.columns == computed.columns)
                #expect(stored.rows.map { $0.map(numeric) } == computed.rows.map { $0.map(numeric) })
            }
            #expect(!(try LowRankTest.run(results, options: options, recompute: true).reused))
            #expect(!(try LowRankTest.run(results, options: LowRankOptions(ranks: [0, 16], modes: ["all"])).reused),
                    "another metric is another result")
        }
    }

    @Test("progress counts every distinct model once; filters that select nothing and bad options are errors")
    func progressAndErrors() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            var reports: [(Int, Int)] = []
            let options = LowRankOptions(filter: AnalysisFilter(tasks: ["mod7"], matrices: ["mlp"]), ranks: [0, 4, 16], modes: ["all", "mlp.fc"])
            let curve = try LowRankTest.tables(results, options: options) { reports.append(($0, $1)) }[0]
            // Distinct models: stored, all@0, all@4, fc@0, fc@4 (k = 16 is the stored model).
            #expect(reports.map(\.0) == Array(0...5) && reports.allSatisfy { $0.1 == 5 })
            #expect(Set(curve.values("task").map(\.description)) == ["mod7"])

            #expect(throws: AnalysisError.self) {
                try LowRankTest.tables(results, options: LowRankOptions(filter: AnalysisFilter(matrices: ["no-such-matrix"])))
            }
            do {
                _ = try LowRankTest.tables(results, options: LowRankOptions(filter: AnalysisFilter(seeds: [3])))
                Issue.record("a seed that is not in the file selected something")
            } catch let error as AnalysisError {
                guard case .nothingSelected = error else { Issue.record("expected nothingSelected, got \(error)"); return }
            }
            #expect(throws: AnalysisError.invalidOption(name: "modes", value: "attn.x", reason: "not a mode (choices: all, matrices_only, attn.q, attn.k, attn.v, attn.o, mlp.fc, mlp.proj, mlp.gate, mlp.up, mlp.down)")) {
                try LowRankTest.run(results, options: LowRankOptions(modes: ["attn.x"]))
            }
            #expect(throws: AnalysisError.self) { try LowRankTest.run(results, options: LowRankOptions(ranks: [-1])) }
        }
    }

    @Test("a results file without full cells is refused, naming the methods it has")
    func noFullCells() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder, methods: "  - {method: lora, r: 2, lora_alpha: 4}\n")
            do {
                _ = try LowRankTest.run(results)
                Issue.record("ran without a full cell")
            } catch let error as AnalysisError {
                #expect(error.description.contains("full") && error.description.contains("lora") && error.description.contains(results.url.path))
            }
        }
    }

    @Test("without stored trained weights (weights: none) the model truncations start from is W0 + ΔW: k = full recovers all of the gain")
    func withoutStoredWeights() throws {
        try withTemporaryFolder { folder in
            let text = tinyStudyText(methods: "  - {method: full, lr: 3.0e-3}\n", trainingSteps: 40, store: "{delta: dense, weights: none}")
            let study = try writeStudy(text, in: folder)
            let url = folder.appendingPathComponent("results.h5")
            _ = try runStudy(study, output: url)
            let report = try LowRankTest.run(try StudyResults(url: url), options: LowRankOptions(ranks: [0, 16], modes: ["all"], metric: .tokenAccuracy))
            let curve = try #require(report.tables.first { $0.name == "lowrank_curve" })
            let full = rows(curve, where: ["stage": .integer(1), "k": .integer(16)])
            #expect(full.count == 1)
            #expect(full.first?["gain_recovered"] == .number(1), "k = min(out, in) is the stored model: all of the gain")
            let none = rows(curve, where: ["stage": .integer(1), "k": .integer(0)])
            #expect(none.first?["acc_new_task"] != full.first?["acc_new_task"], "ΔW mattered")
        }
    }
}

@Suite("Low-rank test: the smallest rank that recovers a share of the gain")
struct LowRankRankNeededTests {
    static func summary(_ rows: [(label: String, mode: String, k: Int, gain: Double?)]) -> TidyTable {
        var table = TidyTable(name: "lowrank_summary", summary: "", columns: [
            "label", "method", "task", "stage", "mode", "k", "acc_new_task_mean", "acc_new_task_std", "acc_new_task_n",
            "gain_recovered_mean", "gain_recovered_std", "gain_recovered_n",
        ].map { .init($0, "") })
        for row in rows {
            table.append([.text(row.label), .text(row.mode == "all" ? "full" : row.mode), .text("edit"), .integer(1), .text(row.mode),
                          .integer(row.k), .number(0.5), .missing, .integer(3), row.gain.map(TidyTable.Value.number) ?? .missing, .missing, .integer(3)])
        }
        return table
    }

    @Test("k_50 and k_90 are the first tested ranks whose mean share reaches 0.5 and 0.9; LoRA is listed at its r")
    func smallestRanks() throws {
        let summary = Self.summary([("full", "all", 0, 0), ("full", "all", 1, 0.3), ("full", "all", 2, 0.5), ("full", "all", 4, 0.89),
                                    ("full", "all", 8, 0.95), ("full", "all", 16, 1), ("lora", "lora", 8, 0.42)])
        let row = try #require(LowRankTest.rankNeededTable(of: summary).namedRows.first)
        #expect(row.integer("k_50") == 2 && row.integer("k_90") == 8 && row.integer("full_rank") == 16)
        #expect(row.text("k_tested") == "0 1 2 4 8 16" && row.text("lora_family_gain") == "lora@8 = 0.420" && row.integer("seeds") == 3)
    }

    @Test("matrices_only gets its own line beside all; a single matrix type does not")
    func oneLinePerWholeModelMode() throws {
        let summary = Self.summary([("full", "all", 0, 0), ("full", "all", 8, 0.95), ("full", "matrices_only", 0, 0), ("full", "matrices_only", 8, 0.6),
                                    ("full", "attn.q", 8, 0.2)])
        let rows = LowRankTest.rankNeededTable(of: summary).namedRows
        #expect(rows.map { $0.text("mode") } == ["all", "matrices_only"])
        #expect(rows[0].integer("k_90") == 8 && rows[1].integer("k_50") == 8 && rows[1].text("k_90") == "")
    }

    @Test("a share no tested rank reaches, or an undefined gain, leaves the rank empty")
    func unreached() throws {
        let summary = Self.summary([("full", "all", 0, nil), ("full", "all", 4, nil), ("full", "all", 8, nil)])
        let row = try #require(LowRankTest.rankNeededTable(of: summary).namedRows.first)
        #expect(row.text("k_50") == "" && row.text("k_90") == "")
    }
}
