import Foundation

extension ReportFigures {
    static let subspaceSection = "Subspaces of ΔW"

    /// φ between configurations from `subspace_similarity` (statistic `phi`): mean over
    /// matrices, stages and seeds; the diagonal is the similarity of a configuration's seeds
    /// with each other (empty with one seed).
    public static func phiHeatmap(_ similarity: TidyTable) -> [ReportFigure] {
        let rows = similarity.namedRows.filter { $0.text("statistic") == "phi" }
        guard !rows.isEmpty else { return [] }
        let labels = ordered(rows.flatMap { [$0.text("label_a"), $0.text("label_b")] })
        var sums: [String: [Double]] = [:], random: [Double] = []
        for row in rows {
            guard let phi = row.number("phi") else { continue }
            let (a, b) = (row.text("label_a"), row.text("label_b"))
            sums["\(a)\u{1F}\(b)", default: []].append(phi)
            if a != b { sums["\(b)\u{1F}\(a)", default: []].append(phi) }
            if let r = row.number("phi_random") { random.append(r) }
        }
        let values = labels.map { a in labels.map { b in mean(sums["\(a)\u{1F}\(b)"] ?? []) } }
        let plot = HeatmapPlot(rowLabels: labels, columnLabels: labels, values: values,
                               shades: values.map { $0.map { $0.map { min(max($0, 0), 1) } } },
                               rowTitle: "configuration", columnTitle: "configuration", scaleEnds: ("φ = 0", "φ = 1"))
        let chance = mean(random).map { String(format: " Random subspaces of the same size give φ ≈ %.3f.", $0) } ?? ""
        return [ReportFigure(section: subspaceSection, id: "phi-heatmap", title: "Subspace similarity φ between configurations",
                             caption: "φ(i, i) = ‖U_Aⁱᵀ U_Bⁱ‖²_F / i of the top singular vectors of two configurations' ΔW (Hu et al. 2021), mean over matrices, stages and seeds; 1 = the same subspace. The diagonal compares a configuration's seeds with each other." + chance,
                             svg: plot.svg(title: "Subspace similarity φ"))]
    }

    /// Intruder dimensions from `intruder_dimensions`: per configuration, the fraction of the
    /// top-k singular vectors of W₀ + ΔW that are intruders, against the fraction random unit
    /// vectors would give (the null), mean over matrices and seeds at the last stage. With an
    /// ε sweep (`intruder_sweep`), one line per configuration over ε with the null as a band.
    public static func intruders(_ table: TidyTable, sweep: TidyTable?) -> [ReportFigure] {
        if let sweep, let figure = intruderSweep(sweep) { return [figure] }
        let rows = table.namedRows
        guard !rows.isEmpty else { return [] }
        let labels = ordered(rows.map { $0.text("label") })
        var observed: [(value: Double, error: Double?)?] = [], null: [(value: Double, error: Double?)?] = []
        var epsilons = Set<String>()
        for label in labels {
            let mine = rows.filter { $0.text("label") == label }
            let lastStage = mine.compactMap { $0.integer("stage") }.max()
            let chosen = mine.filter { $0.integer("stage") == lastStage }
            let fractions = chosen.compactMap { row -> Double? in
                guard let count = row.number("count"), let k = row.number("k"), k > 0 else { return nil }
                return count / k
            }
            chosen.compactMap { $0.number("epsilon") }.forEach { epsilons.insert(PlotScale.label($0)) }
            observed.append(mean(fractions).map { ($0, standardDeviation(fractions)) })
            null.append(mean(chosen.compactMap { $0.number("null_intruder_fraction") }).map { ($0, nil) })
        }
        var plot = BarPlot(categories: labels, seriesNames: ["observed intruders / k", "null: random unit vectors"],
                           values: [observed, null], xLabel: "configuration", yLabel: "fraction of the top-k singular vectors")
        plot.width = max(680, Double(labels.count) * 90 + 260)
        return [ReportFigure(section: subspaceSection, id: "intruders", title: "Intruder dimensions against the null",
                             caption: "A singular vector of W₀ + ΔW is an intruder when its largest |cos| with every singular vector of W₀ is below ε = \(epsilons.sorted().joined(separator: ", ")) (Shuttleworth et al. 2024). Bars: mean over matrices and seeds at the last stage (error: one standard deviation over them); grey: the fraction random unit vectors would reach. Signal is the excess over the null.",
                             svg: plot.svg(title: "Intruder dimensions"))]
    }

    /// The ε sweep: intruder fraction per configuration as a line over ε, the null as a band.
    static func intruderSweep(_ sweep: TidyTable) -> ReportFigure? {
        let rows = sweep.namedRows
        guard !rows.isEmpty else { return nil }
        let labels = ordered(rows.map { $0.text("label") })
        var plot = XYPlot(xLabel: "cosine threshold ε", yLabel: "intruders / k (mean over matrices and seeds)")
        plot.yRange = 0...1
        var nullByEpsilon: [Double: [Double]] = [:]
        for label in labels {
            var byEpsilon: [Double: [Double]] = [:]
            let lastStage = rows.filter { $0.text("label") == label }.compactMap { $0.integer("stage") }.max()
            for row in rows where row.text("label") == label && row.integer("stage") == lastStage {
                guard let e = row.number("epsilon"), let f = row.number("intruder_fraction") else { continue }
                byEpsilon[e, default: []].append(f)
                if let n = row.number("null_intruder_fraction") { nullByEpsilon[e, default: []].append(n) }
            }
            let points = byEpsilon.keys.sorted().compactMap { e in mean(byEpsilon[e]!).map { XYPlot.Point(x: e, y: $0, yError: standardDeviation(byEpsilon[e]!)) } }
            plot.series.append(.init(name: label, points: points))
        }
        let epsilons = nullByEpsilon.keys.sorted()
        plot.bands = [.init(name: "null: random vectors", x: epsilons,
                            lower: epsilons.map { nullByEpsilon[$0]!.min()! }, upper: epsilons.map { nullByEpsilon[$0]!.max()! })]
        plot.height = 420
        return ReportFigure(section: subspaceSection, id: "intruders", title: "Intruder dimensions over ε, against the null",
                            caption: "Fraction of the top-k singular vectors of W₀ + ΔW whose largest |cos| with every singular vector of W₀ is below ε (Shuttleworth et al. 2024), at the last stage; bars: one standard deviation over matrices and seeds. Grey band: what random unit vectors reach at the same ε (min–max over matrices) — the count carries signal only where a line leaves the band.",
                            svg: plot.svg(title: "Intruder dimensions over ε"))
    }
}
