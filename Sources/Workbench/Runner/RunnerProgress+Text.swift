import Foundation

/// Text forms of progress and of the summary (the CLI decides where and how often to print).
extension RunnerProgress {
    /// One status line, e.g.
    /// `[3/9] lora seed0 task 2/3 [#########...........] 170/360 loss 1.234 48.1k tok/s ETA 12s`.
    public func line(barWidth: Int = 20) -> String {
        let filled = Int((fraction * Double(barWidth)).rounded(.down))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled)
        let cell = cellIndex > 0 ? "[\(cellIndex)/\(cellCount)] " : ""
        let task = taskCount > 0 ? " task \(taskIndex)/\(taskCount)" : ""
        var text = "\(cell)\(phase)\(task) [\(bar)] \(step)/\(totalSteps)"
        if !loss.isNaN || event == .diverged { text += " loss " + String(format: "%.3f", loss) }
        if tokensPerSecond > 0 { text += " " + String(format: "%.1fk", tokensPerSecond / 1000) + " tok/s" }
        switch event {
        case .cellSkipped: return "\(cell)\(phase): already in the results file, skipped"
        case .baseLoaded: return "\(phase): loaded"
        case .diverged: text += " DIVERGED"
        case .cellFinished, .baseFinished: text += String(format: " done in %.1fs", elapsed)
        default:
            if let eta = estimatedSecondsLeft { text += String(format: " ETA %.0fs", eta) }
        }
        return text
    }
}

extension StudySummary {
    /// The summary as aligned text columns — method, seeds, just trained (each task right after
    /// its training), final mean task accuracy, mean base-skill retention, wall time — and a legend.
    public static func table(_ rows: [Row]) -> String {
        if rows.contains(where: \.isPretrainedForm) { return pretrainedTable(rows) }
        let header = ["method", "seeds", "just trained", "final task acc", "skill retention", "wall time"]
        let body = rows.map { row in
            [row.label + (row.diverged > 0 ? " (diverged ×\(row.diverged))" : ""), "\(row.seeds)",
             String(format: "%.3f", row.justTrainedAccuracy),
             String(format: "%.3f", row.finalTaskAccuracy),
             row.baseSkillRetention.map { String(format: "%.3f", $0) } ?? "n/a",
             String(format: "%.1fs", row.wallTime)]
        }
        return aligned([header] + body) + "\n" + legend
    }

    /// The table of a study on a pretrained model: what each method learned, and what it
    /// forgot of general text and of the knowledge probe, with ΔW's rank.
    static func pretrainedTable(_ rows: [Row]) -> String {
        func f(_ v: Double?, _ format: String = "%.3f") -> String { v.map { String(format: format, $0) } ?? "n/a" }
        let metric = rows.compactMap(\.learnedMetric).first ?? "metric"
        // Tasks measured in different units: one learned column per task.
        let perTask = rows.first(where: { $0.taskLabels != nil })?.taskLabels
        let learnedHeader = perTask.map { $0.map { "learned: " + $0 } } ?? ["learned (\(metric))"]
        // Several probes (e.g. untouched and edited facts): one retention column each.
        let probes = rows.first(where: { $0.probeNames != nil })?.probeNames
        let probeHeader = probes.map { $0.map { "retention: " + $0 } } ?? ["probe retention"]
        // "just trained" (exact match) only when one learned column does not already say it.
        let justTrained = perTask == nil
        let header = ["method", "seeds"] + learnedHeader + (justTrained ? ["just trained"] : []) + ["text ΔNLL"] + probeHeader
            + ["KL(base‖tuned)", "ΔW rank90 med/max", "wall time"]
        let body = rows.map { row in
            let learned = perTask.map { labels in labels.indices.map { i in f(row.learnedByTask.flatMap { i < $0.count ? $0[i] : nil }) } }
                ?? [f(row.learnedGain)]
            let retention = probes.map { names in names.indices.map { i in f(row.probeRetentionBySkill.flatMap { i < $0.count ? $0[i] : nil }) } }
                ?? [f(row.probeRetention)]
            return [row.label + (row.diverged > 0 ? " (diverged ×\(row.diverged))" : ""), "\(row.seeds)"] + learned
                + (justTrained ? [f(row.justTrainedAccuracy)] : []) + [f(row.generalTextNLLIncrease, "%+.3f")] + retention + [
             f(row.klFromBase, "%.4f"),
             row.deltaRank90Median.map { String(format: "%.0f/%d", $0, row.deltaRank90Max ?? 0) } ?? "n/a",
             String(format: "%.1fs", row.wallTime)]
        }
        let quantized = rows.compactMap { row -> String? in
            guard row.quantizedBaseNLLIncrease != nil || row.quantizedBaseProbeRetention != nil else { return nil }
            return "\(row.label): its 4-bit base alone, before any step: text ΔNLL \(f(row.quantizedBaseNLLIncrease, "%+.3f")), probe retention \(f(row.quantizedBaseProbeRetention)) (included above)"
        }
        return ([aligned([header] + body)] + quantized + [pretrainedLegend]).joined(separator: "\n")
    }

    static func aligned(_ all: [[String]]) -> String {
        let header = all[0]
        let widths = header.indices.map { c in all.map { $0[c].count }.max()! }
        return all.map { cells in
            cells.enumerated().map { c, text in
                c == 0 ? text.padding(toLength: widths[c], withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: widths[c] - text.count) + text
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    static let pretrainedLegend = [
        "learned: each task's metric right after training it minus the base's (positive = better); just trained:",
        "its exact match then; text ΔNLL: held-out general text, nats/token after the last task minus before",
        "(positive = forgotten); probe retention: knowledge-probe accuracy after / before; KL: mean next-token",
        "KL(base ‖ tuned) on that text; ΔW rank90: energy-90 % rank of each linear site's ΔW, median and max",
        "over sites. Means over seeds. More: workbench forgetting RESULTS.h5, workbench spectrum RESULTS.h5",
    ].joined(separator: "\n")

    /// What the columns mean, printed under the table.
    static let legend = [
        "just trained: exact-match accuracy on each task right after training it; final task acc: on every task",
        "after the last one; skill retention: base skills after the last task / before any (1 = nothing",
        "forgotten). Means over tasks and seeds. More: workbench forgetting RESULTS.h5",
    ].joined(separator: "\n")
}
