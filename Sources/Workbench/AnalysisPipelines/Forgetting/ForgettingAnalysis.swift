import Analysis
import Foundation

/// `workbench forgetting`: the continual-learning metrics of every selected cell (Analysis'
/// `ContinualMetrics`: GEM's ACC/BWT/FWT, forgetting in Chaudhry's and Avalanche's
/// conventions, learning, base-skill retention, Biderman et al.'s learned vs forgotten), and
/// their mean ± standard deviation across seeds per configuration.
///
/// By default each column is measured in its own metric (the `metric` matrix: exact match,
/// multiple-choice accuracy, or mean NLL where lower is better — see `AccuracyMatrix` for the
/// sign convention); `--metric exact_match` or `token_accuracy` uses that matrix for every column.
public enum ForgettingAnalysis {
    public enum Metric: String, CaseIterable, Sendable {
        case columnMetric = "metric", exactMatch = "exact_match", tokenAccuracy = "token_accuracy"
    }

    public static let notes = [
        "R[t][j]: accuracy on column j after task t (row 0 = base model); columns = base skills, then tasks.",
        "bwt, fwt: GEM (Lopez-Paz & Ranzato 2017), fwt against the base model's zero-shot accuracy.",
        "forgetting_chaudhry: max over stages 1…T−1 of R[l][j] − R[T][j] (Chaudhry et al. 2018); forgetting_avalanche: R[j][j] − R[T][j] (Avalanche). Both averaged over tasks j < T.",
        "learned: mean gain R[j][j] − R[0][j] on each task; forgotten: mean drop R[0][s] − R[T][s] on the base skills (Biderman et al. 2024, 'LoRA Learns Less and Forgets Less').",
        "Spread: mean ± sample standard deviation across seeds (n = seeds).",
        "Skills or tasks in different units (NLL beside accuracies): learned and forgotten are also given per unit (learned_accuracy, learned_nll, forgotten_accuracy, forgotten_nll), and the printed table shows those.",
        "metric (default): each column in its own measure; where lower is better (mean NLL, nats/token) differences use −R, so positive bwt/fwt/learned = better and positive forgetting/forgotten = worse, in the metric's units; its retention is R[0][s] / R[T][s].",
    ]

    public static func run(_ results: StudyResults, filter: AnalysisFilter, metric: Metric = .columnMetric,
                           recompute: Bool = false) throws -> AnalysisReport {
        let cells = try filter.cells(of: results)
        let parameters = "{\"filter\":\(filter.description),\"metric\":\"\(metric.rawValue)\"}"
        return try AnalysisRun.cachedOrComputed(results, analysis: "forgetting", parameters: parameters,
                                                recompute: recompute, notes: notes) {
            try tables(results, cells: cells, metric: metric)
        }
    }

    /// Metrics of one cell.
    public static func metrics(_ results: StudyResults, _ cell: StudyResults.Cell, metric: Metric) throws -> ContinualMetrics {
        let (rows, directions) = try matrix(results, cell, metric: metric)
        do {
            return ContinualMetrics(try AccuracyMatrix(rows: rows, skillCount: results.skillNames.count, higherIsBetter: directions))
        } catch let error as ForgettingError {
            throw AnalysisError.missing(path: results.url.path, object: "valid accuracy matrix at \(cell.path)", hint: error.description)
        }
    }

    /// The matrix `metric` names for `cell`, and each column's direction.
    static func matrix(_ results: StudyResults, _ cell: StudyResults.Cell, metric: Metric) throws -> ([[Double]], [Bool]) {
        switch metric {
        case .columnMetric:
            let (rows, metrics) = try results.columnMetric(cell)
            return (rows, metrics.map(\.higherIsBetter))
        case .exactMatch:
            let rows = try results.accuracy(cell)
            return (rows, [Bool](repeating: true, count: rows.first?.count ?? 0))
        case .tokenAccuracy:
            let rows = try results.tokenAccuracy(cell)
            return (rows, [Bool](repeating: true, count: rows.first?.count ?? 0))
        }
    }

    static func tables(_ results: StudyResults, cells: [StudyResults.Cell], metric: Metric) throws -> [TidyTable] {
        let id: [TidyTable.Column] = [.init("label", "configuration label"), .init("method", "fine-tuning method")]
        var perCell = TidyTable(name: "forgetting_per_cell", summary: "one row per cell (configuration × seed)", columns: id + [
            .init("seed", "seed"),
            .init("average_accuracy", "A_T: mean accuracy on the tasks after the last task"),
            .init("bwt", "backward transfer (GEM); negative = forgetting; empty when T = 1"),
            .init("fwt", "forward transfer (GEM) against the base model's zero-shot accuracy; empty when T = 1"),
            .init("forgetting_chaudhry", "mean over tasks j < T of max_l R[l][j] − R[T][j]"),
            .init("forgetting_avalanche", "mean over tasks j < T of R[j][j] − R[T][j] (= −bwt)"),
            .init("learning", "mean over tasks of R[j][j] − R[j−1][j]"),
            .init("learned", "mean over tasks of R[j][j] − R[0][j] (target-domain gain)"),
            .init("forgotten", "mean over base skills of R[0][s] − R[T][s] (source-domain loss)"),
            .init("skill_retention", "mean over base skills with R[0][s] > 0 of R[T][s] / R[0][s]"),
        ])
        var perTask = TidyTable(name: "forgetting_per_task", summary: "one row per cell × task", columns: id + [
            .init("seed", "seed"), .init("task", "task name"), .init("task_index", "position j in the sequence, from 1"),
            .init("zero_shot", "R[0][j]: base model's accuracy"), .init("after_training", "R[j][j]: right after training task j"),
            .init("final", "R[T][j]: after the last task"), .init("learning", "R[j][j] − R[j−1][j]"),
            .init("forgetting_chaudhry", "max over l in 1…T−1 of R[l][j] − R[T][j]; empty for the last task"),
            .init("forgetting_avalanche", "R[j][j] − R[T][j]; empty for the last task"),
        ])
        var skills = TidyTable(name: "skill_retention", summary: "one row per cell × base skill", columns: id + [
            .init("seed", "seed"), .init("skill", "base skill"), .init("base", "R[0][s]: base model's accuracy"),
            .init("final", "R[T][s]: after the last task"), .init("retention", "R[T][s] / R[0][s]; empty when R[0][s] = 0"),
            .init("drop", "R[0][s] − R[T][s]"),
        ])
        var byLabel: [(label: String, method: String, runs: [ContinualMetrics], trainable: Int)] = []
        // With skills or tasks measured in different units (NLL beside accuracies), `learned` and
        // `forgotten` also per unit: label → measure → one value per seed.
        var byUnit: [String: [String: [Double]]] = [:]
        for cell in cells {
            let m = try metrics(results, cell, metric: metric)
            if metric == .columnMetric {
                let units = try results.columnMetric(cell).metrics.map { $0 == .meanNLL ? "nll" : "accuracy" }
                let S = m.skillCount
                if Set(units).count > 1 {
                    for unit in ["nll", "accuracy"] {
                        let drops = (0..<S).filter { units[$0] == unit }.map { m.skillDrop[$0] }
                        if !drops.isEmpty { byUnit[cell.label, default: [:]]["forgotten_\(unit)", default: []].append(drops.reduce(0, +) / Double(drops.count)) }
                        let R = try matrix(results, cell, metric: metric).0
                        let gains = (1...m.taskCount).filter { units[S + $0 - 1] == unit }.map { j -> Double in
                            let gain = R[j][S + j - 1] - R[0][S + j - 1]
                            return unit == "nll" ? -gain : gain
                        }
                        if !gains.isEmpty { byUnit[cell.label, default: [:]]["learned_\(unit)", default: []].append(gains.reduce(0, +) / Double(gains.count)) }
                    }
                }
            }
            let R = try matrix(results, cell, metric: metric).0
            let head: [TidyTable.Value] = [.text(cell.label), .text(cell.method), .integer(cell.seed)]
            perCell.append(head + [
                .number(m.averageAccuracy), value(m.bwt), value(m.fwt), value(m.forgettingChaudhryMean),
                value(m.forgettingAvalancheMean), .number(m.learningMean), .number(m.learned), value(m.forgotten),
                value(m.skillRetentionMean),
            ])
            let S = m.skillCount, T = m.taskCount
            for j in 1...T {
                perTask.append(head + [
                    .text(results.taskNames[j - 1]), .integer(j), .number(R[0][S + j - 1]), .number(R[j][S + j - 1]),
                    .number(R[T][S + j - 1]), .number(m.learning[j - 1]), value(m.forgettingChaudhry[j - 1]),
                    value(m.forgettingAvalanche[j - 1]),
                ])
            }
            for s in 0..<S {
                skills.append(head + [.text(results.skillNames[s]), .number(R[0][s]), .number(R[T][s]),
                                      value(m.skillRetention[s]), .number(m.skillDrop[s])])
            }
            if let i = byLabel.firstIndex(where: { $0.label == cell.label }) {
                byLabel[i].runs.append(m)
            } else {
                byLabel.append((cell.label, cell.method, [m], cell.trainableParameters))
            }
        }

        var summary = TidyTable(name: "forgetting_summary", summary: "one row per configuration × metric: spread across seeds", columns: id + [
            .init("metric", "average_accuracy, bwt, fwt, forgetting_chaudhry, forgetting_avalanche, learning, learned, forgotten, skill_retention; with columns in different units also learned_accuracy, learned_nll (nats/token, positive = the NLL fell), forgotten_accuracy, forgotten_nll (nats/token, positive = the NLL rose)"),
            .init("mean", "mean across seeds"), .init("std", "sample standard deviation across seeds (empty for one seed)"),
            .init("n", "seeds where the metric is defined"), .init("min", "smallest value"), .init("max", "largest value"),
        ])
        var tradeOff = TidyTable(name: "learned_vs_forgotten", summary: "one row per configuration: gain on the new tasks vs loss on the base skills (Biderman et al. 2024)", columns: id + [
            .init("trainable_parameters", "trainable parameters of the configuration"),
            .init("learned_mean", "mean across seeds of `learned`"), .init("learned_std", "its standard deviation"),
            .init("forgotten_mean", "mean across seeds of `forgotten`"), .init("forgotten_std", "its standard deviation"),
            .init("average_accuracy_mean", "mean across seeds of A_T"), .init("n", "seeds"),
        ])
        for group in byLabel {
            let spread = ContinualMetrics.spread(group.runs)
            let entries: [(String, SeedSpread?)] = [
                ("average_accuracy", spread.averageAccuracy), ("bwt", spread.bwt), ("fwt", spread.fwt),
                ("forgetting_chaudhry", spread.forgettingChaudhry), ("forgetting_avalanche", spread.forgettingAvalanche),
                ("learning", spread.learning), ("learned", spread.learned), ("forgotten", spread.forgotten),
                ("skill_retention", spread.skillRetention),
            ]
            let perUnit = ["learned_accuracy", "learned_nll", "forgotten_accuracy", "forgotten_nll"].compactMap { name in
                byUnit[group.label]?[name].map { (name, Optional(SeedSpread($0))) }
            }
            for (name, s) in entries + perUnit {
                guard let s else { continue }
                summary.append([.text(group.label), .text(group.method), .text(name), .number(s.mean),
                                .spread(s), .integer(s.count), .number(s.min), .number(s.max)])
            }
            tradeOff.append([
                .text(group.label), .text(group.method), .integer(group.trainable),
                .number(spread.learned.mean), .spread(spread.learned),
                value(spread.forgotten?.mean), spread.forgotten.map(TidyTable.Value.spread) ?? .missing,
                .number(spread.averageAccuracy.mean), .integer(spread.runCount),
            ])
        }
        return [tradeOff, summary, perCell, perTask, skills]
    }

    static func value(_ x: Double?) -> TidyTable.Value { x.map { .number($0) } ?? .missing }
}

extension ForgettingAnalysis {
    /// The printed view: one row per configuration, each metric as "mean ± std" over seeds.
    public static func display(_ tables: [TidyTable]) -> [TidyTable] {
        guard let summary = tables.first(where: { $0.name == "forgetting_summary" }) else { return tables }
        var metrics = ["average_accuracy", "bwt", "fwt", "forgetting_chaudhry", "forgetting_avalanche", "learned", "forgotten", "skill_retention"]
        var headers = ["A_T", "BWT", "FWT", "forget(Chaudhry)", "forget(Avalanche)", "learned", "forgotten", "skill_retention"]
        let named = Set(summary.values("metric").map(\.description))
        if named.contains("forgotten_nll") || named.contains("learned_nll") {
            // Mixed units: the per-unit means replace the mixed ones.
            metrics = ["bwt", "fwt", "learned_accuracy", "learned_nll", "forgotten_accuracy", "forgotten_nll", "skill_retention"]
            headers = ["BWT", "FWT", "learned (acc)", "learned (NLL)", "forgotten (acc)", "forgotten (NLL)", "skill_retention"]
        }
        var wide = TidyTable(name: "forgetting", summary: "mean ± std across seeds, per configuration",
                             columns: [.init("label", ""), .init("method", ""), .init("n", "")] + headers.map { .init($0, "") })
        let label = summary.values("label"), metric = summary.values("metric"), mean = summary.values("mean")
        let std = summary.values("std"), n = summary.values("n")
        var order: [String] = []
        for l in label where !order.contains(l.description) { order.append(l.description) }
        for l in order {
            let rows = summary.rows.indices.filter { label[$0].description == l }
            var cells: [TidyTable.Value] = [.text(l), summary.rows[rows[0]][1], n[rows[0]]]
            for m in metrics {
                if let i = rows.first(where: { metric[$0].description == m }) {
                    cells.append(.meanAndSpread(mean[i], std[i]))
                } else {
                    cells.append(.text("—"))
                }
            }
            wide.append(cells)
        }
        return [wide] + tables.filter { $0.name == "learned_vs_forgotten" }
    }
}
