import Analysis
import Foundation

/// The tables of the low-rank test: `lowrank_curve` (one row per cell × stage × mode × k) and
/// `lowrank_summary` (mean ± std across seeds), and the LoRA-family rows put on the same axes.
extension LowRankTest {
    static func curveTable(metric: LowRankOptions.Metric) -> TidyTable {
        let what = metric == .exactMatch ? "exact match" : metric == .tokenAccuracy ? "token accuracy" : "each column's metric as a score (−NLL where lower is better)"
        return TidyTable(name: "lowrank_curve", summary: "one row per cell (label, seed) × stage × mode × rank k", columns: [
            .init("label", "configuration label of the cell"),
            .init("method", "fine-tuning method (full: truncated ΔW; lora/qlora/dora: stored accuracies at k = r)"),
            .init("seed", "seed of the cell"),
            .init("task", "the task just trained (after task t)"),
            .init("stage", "t, 1-based"),
            .init("mode", "all, a matrix type (attn.q … mlp.proj) truncated alone, or the LoRA-family method name"),
            .init("k", "rank of the approximation of ΔW (LoRA: r)"),
            .init("energy_kept", "mean over truncated matrices of Σ_{i≤k}σᵢ²/Σσᵢ² of ΔW"),
            .init("acc_new_task", "\(what) on task t"),
            .init("gain_recovered", "(acc_k − acc_0)/(acc_full − acc_0) on task t; missing when acc_full ≈ acc_0"),
            .init("acc_earlier_tasks", "mean \(what) on tasks j < t"),
            .init("forgetting_earlier_tasks", "mean over j < t of stored R[j][j] − acc_k[j]"),
            .init("acc_skills", "mean \(what) on the base skills"),
            .init("skill_drop", "mean over skills of stored R[0][s] − acc_k[s]"),
        ])
    }

    static func curveRow(cell: StudyResults.Cell, stage: String, task: Int, mode: String, k: Int, energyKept: Double?,
                         measures m: LowRankMeasures, gainRecovered: Double?) -> [TidyTable.Value] {
        func value(_ x: Double?) -> TidyTable.Value { x.map(TidyTable.Value.number) ?? .missing }
        return [.text(cell.label), .text(cell.method), .integer(cell.seed), .text(stage), .integer(task), .text(mode),
                .integer(k), value(energyKept), .number(m.accNewTask), value(gainRecovered), value(m.accEarlierTasks),
                value(m.forgettingEarlierTasks), value(m.accSkills), value(m.skillDrop)]
    }

    /// The rank r of a LoRA-family cell, from its configuration JSON (`r`).
    ///
    /// - Throws: `AnalysisError.missing` when the configuration has no integer `r`.
    public static func rank(of cell: StudyResults.Cell, in results: StudyResults) throws -> Int {
        guard let r = cell.rank else {
            throw AnalysisError.missing(path: results.url.path, object: "key \"r\" in /\(cell.path)@configuration",
                                        hint: "configuration is \(cell.configuration)")
        }
        return r
    }

    /// One row per selected stage of a LoRA-family cell, from its stored accuracy matrix, at k = r.
    static func rankedMethodRows(_ results: StudyResults, cell: StudyResults.Cell, options: LowRankOptions,
                                 fullBaselines: [SeedStage: (acc0: Double, accFull: Double)]) throws -> [[TidyTable.Value]] {
        let r = try rank(of: cell, in: results)
        let stored = try options.metric.stored(results, cell)
        let skillCount = results.skillNames.count
        let taskNames = results.taskNames
        guard cell.taskCount >= 1 else { return [] }
        return (1...cell.taskCount).filter { options.filter.selects(task: taskNames[$0 - 1]) }.map { t in
            let m = LowRankMeasures(accuracy: { stored[t][$0] }, stored: stored, skillCount: skillCount, task: t,
                                    earlierTasks: cell.fineTuningProtocol != .perTask)
            let gain = fullBaselines[SeedStage(seed: cell.seed, task: t)].flatMap {
                LowRankMeasures.gainRecovered(acc: m.accNewTask, acc0: $0.acc0, accFull: $0.accFull)
            }
            return curveRow(cell: cell, stage: taskNames[t - 1], task: t, mode: cell.method, k: r, energyKept: nil,
                            measures: m, gainRecovered: gain)
        }
    }

    /// Mean, sample standard deviation and count across seeds of acc_new_task, gain_recovered
    /// and forgetting_earlier_tasks, per label × stage × mode × k (in first-appearance order).
    static func summaryTable(of curve: TidyTable) -> TidyTable {
        let measures = ["acc_new_task", "gain_recovered", "forgetting_earlier_tasks"]
        let keys = ["label", "method", "task", "stage", "mode", "k"]
        var columns = keys.map { name in curve.columns.first { $0.name == name }! }
        for measure in measures {
            columns += [.init(measure + "_mean", "mean across seeds of \(measure) (missing values left out)"),
                        .init(measure + "_std", "sample standard deviation (n − 1) across seeds of \(measure)"),
                        .init(measure + "_n", "seeds with a value of \(measure)")]
        }
        var table = TidyTable(name: "lowrank_summary", summary: "one row per label × stage × mode × rank k, across seeds", columns: columns)
        let keyIndices = keys.map { curve.columnIndex($0)! }
        let measureIndices = measures.map { curve.columnIndex($0)! }
        // Groups keyed by the key values' text (TidyTable.Value is not Hashable).
        var order: [(text: String, values: [TidyTable.Value])] = []
        var groups: [String: [[TidyTable.Value]]] = [:]
        for row in curve.rows {
            let values = keyIndices.map { row[$0] }
            let text = values.map(\.description).joined(separator: "\u{1F}")
            if groups[text] == nil { order.append((text, values)) }
            groups[text, default: []].append(row)
        }
        for key in order {
            var row = key.values
            for index in measureIndices {
                let xs = groups[key.text]!.compactMap { row -> Double? in
                    if case .number(let x) = row[index], x.isFinite { return x }
                    return nil
                }
                let (mean, std) = meanAndStandardDeviation(xs)
                row += [mean.map(TidyTable.Value.number) ?? .missing, std.map(TidyTable.Value.number) ?? .missing, .integer(xs.count)]
            }
            table.append(row)
        }
        return table
    }

    /// `lowrank_rank_needed`: one line per full configuration × stage × whole-model mode (`all`,
    /// `matrices_only`): the smallest k among those tested whose mean gain share across seeds
    /// reaches 50 % and 90 %, beside the LoRA-family configurations' own share at their r.
    /// Missing when no tested k reaches it or the gain is undefined (full fine-tuning did not
    /// beat the base).
    static func rankNeededTable(of summary: TidyTable) -> TidyTable {
        var table = TidyTable(name: "lowrank_rank_needed", summary: "one row per full fine-tuning configuration × stage × mode (all, matrices_only): the smallest tested rank k recovering 50 % / 90 % of its gain", columns: [
            .init("label", "configuration label (full fine-tuning)"), .init("task", "the task just trained"),
            .init("stage", "t, 1-based"), .init("mode", "all (other parameters trained) or matrices_only (other parameters the base's)"),
            .init("k_50", "smallest tested k whose mean gain_recovered ≥ 0.5; empty if none"),
            .init("k_90", "smallest tested k whose mean gain_recovered ≥ 0.9; empty if none"),
            .init("k_tested", "ranks tested, in order"),
            .init("full_rank", "the largest k tested (the untruncated ΔW)"),
            .init("lora_family_gain", "the LoRA-family configurations at this stage: label@r = mean gain_recovered"),
            .init("seeds", "seeds averaged"),
        ])
        let rows = summary.namedRows
        let truncated = rows.filter { ["all", LowRankOptions.matricesOnly].contains($0.text("mode")) }
        var keys: [[String]] = []
        for row in truncated where !keys.contains([row.text("label"), row.text("task"), row.text("mode")]) {
            keys.append([row.text("label"), row.text("task"), row.text("mode")])
        }
        for parts in keys {
            let curve = truncated.filter { $0.text("label") == parts[0] && $0.text("task") == parts[1] && $0.text("mode") == parts[2] }
                .sorted { ($0.integer("k") ?? 0) < ($1.integer("k") ?? 0) }
            func smallest(_ share: Double) -> TidyTable.Value {
                curve.first { ($0.number("gain_recovered_mean") ?? -.infinity) >= share }?.integer("k").map(TidyTable.Value.integer) ?? .missing
            }
            let lora = rows.filter { rankedMethods.contains($0.text("mode")) && $0.text("task") == parts[1] }
                .map { "\($0.text("label"))@\($0.text("k")) = " + ($0.number("gain_recovered_mean").map { String(format: "%.3f", $0) } ?? "undefined") }
            table.append([.text(parts[0]), .text(parts[1]), curve.first.map { $0.values[$0.indices["stage"]!] } ?? .missing, .text(parts[2]),
                          smallest(0.5), smallest(0.9), .text(curve.compactMap { $0.integer("k") }.map(String.init).joined(separator: " ")),
                          curve.last?.integer("k").map(TidyTable.Value.integer) ?? .missing, .text(lora.joined(separator: "; ")),
                          curve.compactMap { $0.integer("acc_new_task_n") }.max().map(TidyTable.Value.integer) ?? .missing])
        }
        return table
    }

    /// Mean (nil for no values) and sample standard deviation sqrt(Σ(x − x̄)²/(n − 1)) (nil for n < 2).
    static func meanAndStandardDeviation(_ xs: [Double]) -> (Double?, Double?) {
        guard !xs.isEmpty else { return (nil, nil) }
        let mean = xs.reduce(0, +) / Double(xs.count)
        guard xs.count > 1 else { return (mean, nil) }
        let squares = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (mean, (squares / Double(xs.count - 1)).squareRoot())
    }
}
