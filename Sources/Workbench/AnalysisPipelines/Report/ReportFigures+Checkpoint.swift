import Foundation

extension ReportFigures {
    static let checkpointSection = "The spectrum of ΔW of a checkpoint"

    /// The figures of `workbench spectrum`'s checkpoint modes (`--base/--tuned`, `--adapter`):
    /// the normalized spectra (median over tensors), each tensor's ranks, and with an adapter's
    /// base the intruder counts against their null.
    public static func checkpoint(_ report: AnalysisReport, source: String) -> [ReportFigure] {
        var figures: [ReportFigure] = []
        if let values = report.tables.first(where: { $0.name == "singular_values" }) {
            // The study-mode spectra figure, with the checkpoint as one configuration.
            var asStudy = TidyTable(name: "singular_values", summary: "", columns: ["label", "seed", "stage", "matrix", "kind", "index", "sigma"].map { .init($0, "") })
            for row in values.namedRows {
                asStudy.append([.text(source), .integer(0), .integer(1), .text(row.text("tensor")), .text("cumulative"),
                                row.integer("index").map(TidyTable.Value.integer) ?? .missing, row.number("sigma").map(TidyTable.Value.number) ?? .missing])
            }
            figures += spectra(asStudy).map { figure in
                var figure = figure
                figure.section = checkpointSection
                figure.caption = "σᵢ/σ₁ of every selected tensor's ΔW, median over tensors at each i (log scale), of \(source)."
                return figure
            }
        }
        if let ranks = report.tables.first(where: { $0.name == "checkpoint_spectrum" || $0.name == "adapter_spectrum" }) {
            let rows = ranks.namedRows
            var plot = XYPlot(xLabel: "tensor (in checkpoint order)", yLabel: "rank of ΔW")
            plot.includeZeroY = true
            for (measure, name) in [("energy_rank_90", "energy rank 90 %"), ("stable_rank", "stable rank"), ("lora_r", "adapter rank r")] {
                let points = rows.enumerated().compactMap { i, row in row.number(measure).map { XYPlot.Point(x: Double(i + 1), y: $0) } }
                if !points.isEmpty { plot.series.append(.init(name: name, points: points, drawing: .markers)) }
            }
            if !plot.series.isEmpty {
                figures.append(ReportFigure(section: checkpointSection, id: "checkpoint-ranks", title: "Ranks of ΔW per tensor",
                                            caption: "For each of the \(rows.count) tensors (x: its position in the checkpoint; names in the exported table): the smallest k holding 90 % of ‖ΔW‖²_F and the stable rank ‖ΔW‖²_F/σ₁².",
                                            svg: plot.svg(title: "Ranks of ΔW per tensor")))
            }
        }
        if let subspace = report.tables.first(where: { $0.name == "adapter_subspace" }) {
            let rows = subspace.namedRows
            let observed: [(value: Double, error: Double?)?] = [mean(rows.compactMap { r in r.number("intruder_count").flatMap { c in r.number("intruder_k").map { c / $0 } } }).map { ($0, nil) }]
            let null: [(value: Double, error: Double?)?] = [mean(rows.compactMap { $0.number("null_intruder_fraction") }).map { ($0, nil) }]
            let epsilon = rows.first?.number("epsilon").map(PlotScale.label) ?? "?"
            let plot = BarPlot(categories: [source], seriesNames: ["observed intruders / k", "null: random unit vectors"],
                               values: [observed, null], xLabel: "adapter", yLabel: "fraction of the top-k singular vectors")
            figures.append(ReportFigure(section: checkpointSection, id: "checkpoint-intruders", title: "Intruder dimensions against the null",
                                        caption: "Mean over the adapted modules of the fraction of the top-k singular vectors of W₀ + ΔW whose max |cos| with W₀'s is below ε = \(epsilon), beside what random unit vectors reach.",
                                        svg: plot.svg(title: "Intruder dimensions")))
        }
        return figures
    }
}
