import Foundation

extension ReportFigures {
    static let trainingSection = "Training"

    /// Loss curves from `training_loss`: one line per configuration, the mean over seeds of each
    /// step's batch loss, the tasks' steps laid end to end (base pretraining left out).
    public static func lossCurves(_ trainingLoss: TidyTable) -> [ReportFigure] {
        let rows = trainingLoss.namedRows.filter { $0.text("label") != "base" }
        guard !rows.isEmpty else { return [] }
        let labels = ordered(rows.map { $0.text("label") })
        let stages = ordered(rows.map { $0.text("task") })
        // Steps per stage: the longest run of any configuration, so stages line up.
        var stageLength: [String: Int] = [:]
        for row in rows { stageLength[row.text("task")] = max(stageLength[row.text("task")] ?? 0, (row.integer("step") ?? 0) + 1) }
        var offset: [String: Int] = [:], total = 0
        for stage in stages { offset[stage] = total; total += stageLength[stage] ?? 0 }
        var plot = XYPlot(xLabel: "optimizer step (tasks in sequence: \(stages.joined(separator: " → ")))", yLabel: "training loss (nats/token)")
        var seedCount = 0
        for label in labels {
            var bySteps: [Int: [Double]] = [:]
            var seeds = Set<Int>()
            for row in rows where row.text("label") == label {
                guard let step = row.integer("step"), let loss = row.number("loss") else { continue }
                bySteps[(offset[row.text("task")] ?? 0) + step, default: []].append(loss)
                seeds.insert(row.integer("seed") ?? 0)
            }
            seedCount = max(seedCount, seeds.count)
            let points = bySteps.keys.sorted().compactMap { step in mean(bySteps[step]!).map { XYPlot.Point(x: Double(step), y: $0) } }
            plot.series.append(.init(name: label, points: points, drawing: .line))
        }
        let losses = plot.series.flatMap { $0.points.map(\.y) }.filter { $0 > 0 }
        if let lo = losses.min(), let hi = losses.max(), hi / lo > 20 { plot.yScale = .log10 }
        let boundaries = stages.dropFirst().compactMap { offset[$0] }.map(String.init).joined(separator: ", ")
        return [ReportFigure(section: trainingSection, id: "loss-curves", title: "Training loss",
                             caption: "Batch loss at each optimizer step, mean over \(seedsPhrase(seedCount)) per configuration\(plot.yScale == .log10 ? " (log scale)" : ""). " + (boundaries.isEmpty ? "" : "A new task starts at step \(boundaries)."),
                             svg: plot.svg(title: "Training loss"))]
    }
}
