import Foundation

extension ReportFigures {
    static let performanceSection = "Retained performance"

    /// Short metric names for axis and column labels, with the better direction.
    static func metricShort(_ metric: String) -> String {
        switch metric {
        case "mean_nll": return "NLL ↓"
        case "choice_accuracy": return "choice acc ↑"
        case "greedy_exact_match": return "greedy EM ↑"
        case "exact_match": return "EM ↑"
        default: return metric
        }
    }

    /// One heatmap per configuration from `evaluation`: rows are the model after each stage
    /// (base, then each task), columns the evaluated skills and tasks, the number the mean over
    /// seeds of the column's own metric. Colour compares configurations: within a column, from
    /// the worst to the best mean any configuration reaches at any stage, in the column's direction.
    public static func metricHeatmaps(_ evaluation: TidyTable) -> [ReportFigure] {
        let rows = evaluation.namedRows
        guard !rows.isEmpty else { return [] }
        let labels = ordered(rows.map { $0.text("label") })
        let columns = ordered(rows.map { $0.text("column") })
        let stages = ordered(rows.sorted { ($0.integer("stage") ?? 0) < ($1.integer("stage") ?? 0) }.map { $0.text("stage") })
        var taskOfStage: [String: String] = [:]
        for row in rows { taskOfStage[row.text("stage")] = row.text("task") }
        var metricOf: [String: String] = [:], lowerIsBetter: [String: Bool] = [:], kindOf: [String: String] = [:]
        var sums: [String: [Double]] = [:]
        var seeds: [String: Set<Int>] = [:]
        for row in rows {
            let column = row.text("column")
            let metric = row.text("metric").isEmpty ? "exact_match" : row.text("metric")
            metricOf[column] = metric
            lowerIsBetter[column] = row.text("direction") == "lower"
            kindOf[column] = row.text("column_kind")
            let value = row.number("metric_value") ?? row.number("exact_match")
            if let value { sums["\(row.text("label"))\u{1F}\(row.text("stage"))\u{1F}\(column)", default: []].append(value) }
            seeds[row.text("label"), default: []].insert(row.integer("seed") ?? 0)
        }
        func cell(_ label: String, _ stage: String, _ column: String) -> Double? { mean(sums["\(label)\u{1F}\(stage)\u{1F}\(column)"] ?? []) }
        var range: [String: (Double, Double)] = [:]
        for column in columns {
            let xs = labels.flatMap { l in stages.compactMap { cell(l, $0, column) } }
            if let lo = xs.min(), let hi = xs.max() { range[column] = (lo, hi) }
        }
        let columnLabels = columns.map { "\($0) (\(metricShort(metricOf[$0] ?? "")))" }
        return labels.map { label in
            let values = stages.map { stage in columns.map { cell(label, stage, $0) } }
            let shades = stages.map { stage in columns.map { column -> Double? in
                guard let v = cell(label, stage, column), let (lo, hi) = range[column] else { return nil }
                guard hi > lo else { return 0.5 }
                let t = (v - lo) / (hi - lo)
                return lowerIsBetter[column] == true ? 1 - t : t
            } }
            var plot = HeatmapPlot(rowLabels: stages.map { stage in stage == "0" ? "base" : "after \(taskOfStage[stage] ?? stage)" },
                                   columnLabels: columnLabels, values: values, shades: shades,
                                   rowTitle: "model after stage", columnTitle: "evaluated skill or task (metric)",
                                   scaleEnds: ("worse", "better"))
            plot.cellWidth = columns.count > 8 ? 62 : 74
            let n = seeds[label]?.count ?? 0
            return ReportFigure(
                section: performanceSection, id: "metric-matrix-\(label)", title: "Metric matrix: \(label)",
                caption: "Mean over \(seedsPhrase(n)) of each column's own metric (EM: exact match; choice acc: multiple-choice log-likelihood accuracy; NLL: nats/token on held-out text, lower is better) after each stage. Colour compares configurations: within a column it runs from the worst (dark) to the best (light) mean that any configuration reaches at any stage.",
                svg: plot.svg(title: "Metric matrix: \(label)"))
        }
    }

    /// Learned vs forgotten per configuration (Biderman et al. 2024), from `forgetting_summary`:
    /// x = mean gain on the new tasks, y = mean loss on the base skills, bars = one standard
    /// deviation across seeds. With columns in different units, one plot per unit.
    public static func learnedVersusForgotten(_ summary: TidyTable) -> [ReportFigure] {
        let rows = summary.namedRows
        let metrics = Set(rows.map { $0.text("metric") })
        var pairs: [(learned: String, forgotten: String, unit: String)] = []
        if metrics.contains("learned_nll") || metrics.contains("forgotten_nll") {
            for unit in ["accuracy", "nll"] where metrics.contains("learned_\(unit)") || metrics.contains("forgotten_\(unit)") {
                let learned = metrics.contains("learned_\(unit)") ? "learned_\(unit)" : "learned"
                let forgotten = metrics.contains("forgotten_\(unit)") ? "forgotten_\(unit)" : "forgotten"
                pairs.append((learned, forgotten, unit == "nll" ? "NLL, nats/token" : "accuracy"))
            }
        } else if metrics.contains("learned") && metrics.contains("forgotten") {
            pairs.append(("learned", "forgotten", "accuracy"))
        }
        let labels = ordered(rows.map { $0.text("label") })
        return pairs.compactMap { pair in
            func stat(_ label: String, _ metric: String) -> (Double, Double?, Int)? {
                guard let row = rows.first(where: { $0.text("label") == label && $0.text("metric") == metric }),
                      let mean = row.number("mean") else { return nil }
                let n = row.integer("n") ?? 1
                return (mean, n > 1 ? row.number("std") : nil, n)
            }
            var plot = XYPlot(xLabel: "learned: gain on the new tasks (\(pair.unit))", yLabel: "forgotten: loss on base skills (\(pair.unit))")
            var seedCounts = Set<Int>()
            for label in labels {
                guard let x = stat(label, pair.learned), let y = stat(label, pair.forgotten) else { continue }
                seedCounts.insert(x.2)
                plot.series.append(.init(name: label, points: [.init(x: x.0, y: y.0, xError: x.1, yError: y.1, label: label)], drawing: .markers))
            }
            guard !plot.series.isEmpty else { return nil }
            plot.referenceLines = [(0, "no forgetting")]
            plot.showPointLabels = plot.series.count <= 6
            plot.height = 420
            let spread = seedCounts.max().map { $0 > 1 ? "Bars: one sample standard deviation across \($0) seeds." : "One seed: no spread." } ?? ""
            let units = pair.unit.hasPrefix("NLL")
                ? "In NLL units: learned = how far the new text's NLL fell, forgotten = how far the held-out base texts' NLL rose (nats/token)."
                : "In accuracy units: learned = mean gain R[j][j] − R[0][j] on the tasks, forgotten = mean drop R[0][s] − R[T][s] on the base skills."
            return ReportFigure(section: performanceSection, id: "learned-vs-forgotten-\(pair.unit.hasPrefix("NLL") ? "nll" : "accuracy")",
                                title: "Learned vs forgotten (\(pair.unit))",
                                caption: "Each point is one configuration (mean over seeds). Right = learned more; up = forgot more; the best corner is bottom right. \(units) \(spread)",
                                svg: plot.svg(title: "Learned vs forgotten (\(pair.unit))"))
        }
    }
}
