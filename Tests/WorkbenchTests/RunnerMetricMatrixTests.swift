import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// What a cell stores beside the accuracy matrix: each column's own metric with its direction,
/// the mean NLL, KL(base ‖ tuned) on running text, the greedy answer's exact match when asked,
/// and ΔW's energy-90 ranks.
@Suite("Study runner: metric matrices")
struct RunnerMetricMatrixTests {
    /// The tiny study with a running-text skill (`grammar_lm`) and greedy evaluation.
    static func text(greedy: Bool) -> String {
        tinyStudyText(methods: "  - {method: lora, r: 2, lora_alpha: 4}\n", store: "{delta: factors, weights: none}")
            .replacingOccurrences(of: "skills: [{kind: copy, max_length: 5}, {kind: facts, size: 16}]",
                                  with: "skills: [{kind: copy, max_length: 5}, {kind: grammar_lm}]")
            .replacingOccurrences(of: "evaluation: {test_size: 16, batch: 16}", with: "evaluation: {test_size: 16, batch: 16, greedy: \(greedy)}")
            .replacingOccurrences(of: "context_length: 24", with: "context_length: 64")
    }

    @Test("metric: exact match per answer column (greedy under evaluation.greedy), mean NLL for running text; KL 0 in the base row")
    func matrices() throws {
        for greedy in [false, true] {
            try withTemporaryFolder { folder in
                let study = try writeStudy(Self.text(greedy: greedy), in: folder)
                let url = folder.appendingPathComponent("results.h5")
                _ = try runStudy(study, output: url)
                let file = try HDF5File.open(url)
                defer { try? file.close() }
                let cell = try file.root().group("runs/lora/seed0")
                let metric = try cell.dataset("metric")
                let answer = greedy ? "greedy_exact_match" : "exact_match"
                #expect(try metric.attribute("column_metrics") == .strings([answer, "mean_nll", answer, answer]))
                #expect(try metric.attribute("column_directions") == .strings(["higher", "lower", "higher", "higher"]))
                let m = try cell.readArray("metric", as: Double.self).values
                let nll = try cell.readArray("mean_nll", as: Double.self).values
                let accuracy = try cell.readArray("accuracy", as: Double.self).values
                let kl = try cell.readArray("kl_from_base", as: Double.self).values
                for row in 0..<3 {
                    #expect(m[row * 4 + 1] == nll[row * 4 + 1], "the running-text column holds its NLL")
                    for c in [0, 2, 3] {
                        if greedy { #expect(m[row * 4 + c] <= accuracy[row * 4 + c] + 1e-12, "greedy ≤ teacher-forced exact match") }
                        else { #expect(m[row * 4 + c] == accuracy[row * 4 + c]) }
                    }
                    #expect(kl[row * 4].isNaN && kl[row * 4 + 2].isNaN, "no KL for answer columns")
                }
                #expect(kl[1] == 0 && kl[4 + 1] > 0 && kl[8 + 1] > 0, "KL from the base: 0 before, positive after fine-tuning")
                let ranks = try cell.readArray("after_task1/delta_energy90_rank", as: Int64.self)
                #expect(ranks.values.count == 6 && ranks.values.allSatisfy { (1...2).contains($0) }, "LoRA r = 2: every ΔW has energy-90 rank 1 or 2")
            }
        }
    }

    @Test("greedy only when asked: studies without it keep their identities")
    func greedyIdentity() throws {
        try withTemporaryFolder { folder in
            let plain = try ResolvedStudy(try writeStudy(tinyStudyText(), in: folder))
            let explicit = try ResolvedStudy(try writeStudy(tinyStudyText().replacingOccurrences(
                of: "evaluation: {test_size: 16, batch: 16}", with: "evaluation: {test_size: 16, batch: 16, greedy: false}"), in: folder))
            let greedy = try ResolvedStudy(try writeStudy(tinyStudyText().replacingOccurrences(
                of: "evaluation: {test_size: 16, batch: 16}", with: "evaluation: {test_size: 16, batch: 16, greedy: true}"), in: folder))
            #expect(RunIdentity.base(plain, seed: 0) == RunIdentity.base(explicit, seed: 0))
            #expect(RunIdentity.base(plain, seed: 0) != RunIdentity.base(greedy, seed: 0))
            #expect(greedy.columns.map(\.metric) == [.greedyExactMatch, .greedyExactMatch, .greedyExactMatch, .greedyExactMatch])
        }
    }

    @Test("a QLoRA cell also stores its quantized base before any step: each column's metric and KL(base ‖ 4-bit base)")
    func quantizedBase() throws {
        try withTemporaryFolder { folder in
            let text = Self.text(greedy: false).replacingOccurrences(of: "  - {method: lora, r: 2, lora_alpha: 4}\n",
                                                                    with: "  - {method: qlora, r: 2, lora_alpha: 4}\n")
            let study = try writeStudy(text, in: folder)
            let url = folder.appendingPathComponent("results.h5")
            _ = try runStudy(study, output: url)
            let file = try HDF5File.open(url)
            defer { try? file.close() }
            let cell = try file.root().group("runs/qlora/seed0")
            let quantized = try cell.readArray("quantized_base_metric", as: Double.self).values
            #expect(quantized.count == 4)
            let grammar = try cell.group("quantized_base/eval/skills/grammar_lm")
            #expect(try grammar.doubleAttribute("loss") == quantized[1])
            #expect(try grammar.doubleAttribute("kl_from_base") > 0, "4-bit weights change the next-token distributions")
            let base = try cell.readArray("metric", as: Double.self).values
            #expect(quantized[1] != base[1], "the quantized base's NLL differs from the base's (row 0)")
        }
    }

    @Test("the exported evaluation table names each column's metric and direction, with the new measures where they apply")
    func evaluationTable() throws {
        try withTemporaryFolder { folder in
            let study = try writeStudy(Self.text(greedy: true), in: folder)
            let url = folder.appendingPathComponent("results.h5")
            _ = try runStudy(study, output: url)
            let table = try StudyResults(url: url).evaluationTable()
            let columns = table.values("column").map(\.description), metric = table.values("metric").map(\.description)
            let direction = table.values("direction").map(\.description), kl = table.values("kl_from_base")
            #expect(columns.count == 12, "3 stages × 4 columns")
            // Skills in two units: the forgetting summary adds per-unit means; forgotten_nll is the
            // text skill's NLL after the last task minus before.
            let forgetting = try ForgettingAnalysis.run(try StudyResults(url: url), filter: AnalysisFilter())
            let summary = try #require(forgetting.tables.first { $0.name == "forgetting_summary" })
            let names = summary.values("metric").map(\.description), means = summary.values("mean")
            let nll = table.values("metric_value")
            let textRows = columns.indices.filter { columns[$0] == "grammar_lm" }
            guard case .number(let before) = nll[textRows[0]], case .number(let after) = nll[textRows[2]],
                  let i = names.firstIndex(of: "forgotten_nll"), case .number(let forgottenNLL) = means[i] else {
                Issue.record("no forgotten_nll in \(names)"); return
            }
            #expect(abs(forgottenNLL - (after - before)) < 1e-12)
            #expect(names.contains("forgotten_accuracy") && names.contains("learned_accuracy") && !names.contains("learned_nll"))
            for i in columns.indices {
                #expect(metric[i] == (columns[i] == "grammar_lm" ? "mean_nll" : "greedy_exact_match"))
                #expect(direction[i] == (columns[i] == "grammar_lm" ? "lower" : "higher"))
                #expect((kl[i] == .missing) == (columns[i] != "grammar_lm"))
            }
        }
    }
}
