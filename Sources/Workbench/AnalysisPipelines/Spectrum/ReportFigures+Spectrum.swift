import Foundation

extension ReportFigures {
    static let spectrumSection = "The spectrum of ΔW"

    /// Normalized singular-value spectra from `singular_values`: for each configuration, its
    /// first seed's ΔW after the last task (cumulative; per-task protocols: the last increment),
    /// σᵢ/σ₁ per matrix, then the median over matrices at each index i. The base W₀ is drawn
    /// for reference when present. Log scale, so LoRA's drop after r stays visible.
    public static func spectra(_ singularValues: TidyTable) -> [ReportFigure] {
        let rows = singularValues.namedRows
        guard !rows.isEmpty else { return [] }
        let labels = ordered(rows.map { $0.text("label") })
        var plot = XYPlot(xLabel: "index i of the singular value", yLabel: "σᵢ / σ₁ (median over matrices)")
        plot.yScale = .log10
        var described: [String] = []
        for label in labels {
            let mine = rows.filter { $0.text("label") == label }
            guard let seed = mine.compactMap({ $0.integer("seed") }).min(),
                  let stage = mine.filter({ $0.integer("seed") == seed }).compactMap({ $0.integer("stage") }).max() else { continue }
            let kinds = Set(mine.map { $0.text("kind") })
            let kind = kinds.contains("cumulative") ? "cumulative" : kinds.contains("increment") ? "increment" : "base"
            let chosen = mine.filter { $0.integer("seed") == seed && $0.integer("stage") == stage && $0.text("kind") == kind }
            var byMatrix: [String: [(Int, Double)]] = [:]
            for row in chosen {
                if let i = row.integer("index"), let s = row.number("sigma") { byMatrix[row.text("matrix"), default: []].append((i, s)) }
            }
            var normalized: [Int: [Double]] = [:]
            for (_, values) in byMatrix {
                guard let first = values.first(where: { $0.0 == 1 })?.1, first > 0 else { continue }
                for (i, s) in values { normalized[i, default: []].append(max(s / first, 1e-12)) }
            }
            let points = normalized.keys.sorted().compactMap { i in median(normalized[i]!).map { XYPlot.Point(x: Double(i), y: $0) } }
            guard !points.isEmpty else { continue }
            plot.series.append(.init(name: label == "base" ? "W₀ (base)" : label, points: points, drawing: .line))
            if label != "base" { described.append("\(label): seed \(seed), stage \(stage), \(kind), \(byMatrix.count) matrices") }
        }
        guard !plot.series.isEmpty else { return [] }
        return [ReportFigure(section: spectrumSection, id: "spectra", title: "Singular-value spectra of ΔW",
                             caption: "Each line: σᵢ/σ₁ of every selected matrix, median over matrices at each i (log scale). A rank-r update (LoRA) falls to rounding noise after i = r; full fine-tuning's ΔW decays slowly. " + described.joined(separator: "; ") + ".",
                             svg: plot.svg(title: "Singular-value spectra of ΔW"))]
    }

    /// Energy rank (90 %) per stage from `spectrum_summary`: one line per configuration over the
    /// stages, mean over matrices then mean ± std across seeds; LoRA-family ranks r for reference.
    public static func energyRanks(_ summary: TidyTable, spectrum: TidyTable?) -> [ReportFigure] {
        let rows = summary.namedRows.filter { $0.text("kind") == "cumulative" || $0.text("kind") == "increment" }
        guard !rows.isEmpty else { return [] }
        let kind = rows.contains { $0.text("kind") == "cumulative" } ? "cumulative" : "increment"
        let labels = ordered(rows.filter { $0.text("kind") == kind }.map { $0.text("label") })
        var plot = XYPlot(xLabel: "stage (after task t)", yLabel: "energy rank 90 % of ΔW (mean over matrices)")
        plot.includeZeroY = true
        var taskNames: [Int: String] = [:]
        var seedCount = 0
        for label in labels {
            let points = rows.filter { $0.text("label") == label && $0.text("kind") == kind }.compactMap { row -> XYPlot.Point? in
                guard let stage = row.integer("stage"), let rank = row.number("energy_rank_90_mean") else { return nil }
                taskNames[stage] = row.text("task")
                let n = row.integer("n") ?? 1
                seedCount = max(seedCount, n)
                return XYPlot.Point(x: Double(stage), y: rank, yError: n > 1 ? row.number("energy_rank_90_std") : nil)
            }.sorted { $0.x < $1.x }
            if !points.isEmpty { plot.series.append(.init(name: label, points: points, drawing: points.count > 1 ? .lineAndMarkers : .markers)) }
        }
        guard !plot.series.isEmpty else { return [] }
        let ranks = Set(spectrum?.namedRows.compactMap { $0.integer("lora_r") } ?? [])
        plot.referenceLines = ranks.sorted().map { (Double($0), "LoRA r = \($0)") }
        let stages = taskNames.keys.sorted().map { "\($0) = \(taskNames[$0]!)" }.joined(separator: ", ")
        return [ReportFigure(section: spectrumSection, id: "energy-rank", title: "Energy rank of ΔW per stage",
                             caption: "Smallest k with Σ_{i≤k} σᵢ² ≥ 90 % of ‖ΔW‖²_F (\(kind) ΔW), mean over matrices per seed, then mean over \(seedsPhrase(seedCount))\(seedCount > 1 ? " (bars: one standard deviation)" : ""). Stages: \(stages).",
                             svg: plot.svg(title: "Energy rank of ΔW per stage"))]
    }
}
