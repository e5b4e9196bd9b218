import Foundation

extension ReportFigures {
    static let lowRankSection = "The direct low-rank test"

    /// Rank-k recovery curves from `lowrank_summary`: for each full fine-tuning configuration and
    /// stage, the share of its gain on the new task kept when every ΔW is truncated to rank k
    /// (mode `all`), mean ± std across seeds; LoRA-family configurations as points at k = r.
    public static func recoveryCurves(_ summary: TidyTable) -> [ReportFigure] {
        let rows = summary.namedRows
        let truncated = rows.filter { $0.text("mode") == "all" }
        guard !truncated.isEmpty else { return [] }
        let maxK = truncated.compactMap { $0.integer("k") }.max() ?? 1
        // The gain share is undefined where full fine-tuning did not beat the base; then the
        // new task's own score is drawn instead.
        let measure = truncated.contains { $0.number("gain_recovered_mean") != nil } ? "gain_recovered" : "acc_new_task"
        var plot = XYPlot(xLabel: "rank k of the truncated ΔW" + (maxK > 64 ? " (log scale; k = 0 recovers 0 by definition)" : ""),
                          yLabel: measure == "gain_recovered" ? "share of full fine-tuning's gain recovered" : "score on the task just trained")
        if maxK > 64 { plot.xScale = .log10 }
        var seedCount = 0
        func point(_ row: TidyTable.Row) -> XYPlot.Point? {
            guard let k = row.integer("k"), let y = row.number(measure + "_mean"), !(plot.xScale == .log10 && k == 0) else { return nil }
            let n = row.integer(measure + "_n") ?? 1
            seedCount = max(seedCount, n)
            return XYPlot.Point(x: Double(k), y: y, yError: n > 1 ? row.number(measure + "_std") : nil)
        }
        for key in ordered(truncated.map { "\($0.text("label"))\u{1F}\($0.text("task"))" }) {
            let parts = key.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
            let points = truncated.filter { $0.text("label") == parts[0] && $0.text("task") == parts[1] }.compactMap(point).sorted { $0.x < $1.x }
            if !points.isEmpty { plot.series.append(.init(name: "\(parts[0]) after \(parts[1])", points: points)) }
        }
        let ranked = rows.filter { ["lora", "qlora", "dora"].contains($0.text("mode")) }
        for key in ordered(ranked.map { "\($0.text("label"))\u{1F}\($0.text("task"))" }) {
            let parts = key.split(separator: "\u{1F}", omittingEmptySubsequences: false).map(String.init)
            let points = ranked.filter { $0.text("label") == parts[0] && $0.text("task") == parts[1] }.compactMap(point)
            if !points.isEmpty { plot.series.append(.init(name: "\(parts[0]) at r, after \(parts[1])", points: points, drawing: .markers)) }
        }
        guard !plot.series.isEmpty else { return [] }
        plot.height = 420
        let what: String
        if measure == "gain_recovered" {
            plot.referenceLines = [(1, "full ΔW (= 1)"), (0.9, "90 % of the gain")]
            what = "(acc_k − acc_0)/(acc_full − acc_0) on the task just trained"
        } else {
            what = "the score on the task just trained (the share of the gain is undefined: full fine-tuning did not beat the base on any stage)"
        }
        return [ReportFigure(section: lowRankSection, id: "lowrank-recovery", title: "Rank-k recovery of full fine-tuning's gain",
                             caption: "Every weight matrix's ΔW truncated to its top k singular directions and the model re-evaluated: \(what), mean over \(seedsPhrase(seedCount))\(seedCount > 1 ? " (bars: one standard deviation)" : ""). Points: LoRA-family configurations at k = r, their own gain measured against the full configuration of the same seed.",
                             svg: plot.svg(title: "Rank-k recovery"))]
    }
}
