import Foundation

extension NF4Effect {
    /// `qlora_vs_lora`: per matched pair and metric, qlora, lora and qlora − lora; then per
    /// (qlora label, lora label, protocol) and metric the means over seeds and the sample std
    /// of the difference.
    static func comparisonTable(_ results: StudyResults, pairs: [NF4QLoRAPair]) throws -> TidyTable {
        var table = TidyTable(
            name: "qlora_vs_lora",
            summary: "one row per matched qlora/lora pair (statistic seed) or pair of labels (statistic mean) and metric",
            columns: [
                .init("qlora_label", "label of the qlora cell"), .init("lora_label", "label of the matched lora cell"),
                .init("protocol", "fine-tuning protocol of both"),
                .init("statistic", "seed: one seed; mean: mean over seeds"),
                .init("seed", "seed (empty for mean rows)"),
                .init("metric", "final_average_accuracy, skills_after_last, forgetting, skill_drop, skill_drop[SKILL]"),
                .init("qlora", "metric of qlora (mean over seeds on mean rows)"),
                .init("lora", "metric of lora (mean over seeds on mean rows)"),
                .init("difference", "qlora − lora (mean over seeds on mean rows)"),
                .init("difference_std", "sample std (n − 1) of the difference over seeds; empty for one seed"),
                .init("seeds", "number of seeds"),
            ])
        let skills = results.skillNames
        func metrics(_ r: [[Double]]) -> [(String, Double?)] {
            let s = NF4AccuracySummary(accuracy: r, skillCount: skills.count)
            return [("final_average_accuracy", s.finalAverageAccuracy), ("skills_after_last", s.skillsAfterLast),
                    ("forgetting", s.forgetting), ("skill_drop", s.skillDrop)]
                + zip(skills, s.skillDrops).map { ("skill_drop[\($0)]", $1) }
        }
        func value(_ x: Double?) -> TidyTable.Value { x.map(TidyTable.Value.number) ?? .missing }
        var groupOrder: [String] = []
        var perGroup: [String: (pair: NF4QLoRAPair, metrics: [String], values: [String: [(Double, Double)]])] = [:]
        for pair in pairs {
            let q = metrics(try results.columnScores(pair.qlora)), l = metrics(try results.columnScores(pair.lora))
            let group = [pair.qlora.label, pair.lora.label, pair.qlora.fineTuningProtocol.rawValue].joined(separator: "\u{1F}")
            if perGroup[group] == nil {
                groupOrder.append(group)
                perGroup[group] = (pair, q.map(\.0), [:])
            }
            for ((metric, qv), (_, lv)) in zip(q, l) {
                table.append([.text(pair.qlora.label), .text(pair.lora.label), .text(pair.qlora.fineTuningProtocol.rawValue), .text("seed"),
                              .integer(pair.qlora.seed), .text(metric), value(qv), value(lv),
                              value(qv.flatMap { a in lv.map { a - $0 } }), .missing, .integer(1)])
                if let qv, let lv { perGroup[group]!.values[metric, default: []].append((qv, lv)) }
            }
        }
        for group in groupOrder {
            let entry = perGroup[group]!
            for metric in entry.metrics {
                let values = entry.values[metric] ?? []
                let n = Double(values.count)
                let diffs = values.map { $0.0 - $0.1 }
                let mean = values.isEmpty ? nil : diffs.reduce(0, +) / n
                let std = values.count < 2 ? nil : (diffs.map { ($0 - mean!) * ($0 - mean!) }.reduce(0, +) / (n - 1)).squareRoot()
                table.append([.text(entry.pair.qlora.label), .text(entry.pair.lora.label), .text(entry.pair.qlora.fineTuningProtocol.rawValue),
                              .text("mean"), .missing, .text(metric),
                              value(values.isEmpty ? nil : values.map(\.0).reduce(0, +) / n),
                              value(values.isEmpty ? nil : values.map(\.1).reduce(0, +) / n),
                              value(mean), value(std), .integer(values.count)])
            }
        }
        return table
    }
}
