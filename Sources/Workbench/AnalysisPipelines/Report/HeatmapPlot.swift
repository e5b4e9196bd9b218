import Foundation

/// A grid of coloured cells with the value written in each: accuracy/metric matrices and φ
/// similarities. Colour is viridis over `shade` ∈ [0, 1] (dark = low, light = high); the text
/// is the raw value, so a column in NLL beside one in accuracy stays readable.
public struct HeatmapPlot: Sendable {
    public var rowLabels: [String]
    public var columnLabels: [String]
    /// Raw values written in the cells (nil = not measured, drawn hatched grey).
    public var values: [[Double?]]
    /// Colour position of each cell in [0, 1]; nil = derived from `values` over their min…max.
    public var shades: [[Double?]]?
    public var rowTitle: String
    public var columnTitle: String
    /// What light and dark mean, written beside the colour bar, e.g. ("worse", "better").
    public var scaleEnds: (low: String, high: String)
    public var cellWidth: Double = 74
    public var cellHeight: Double = 26

    public init(rowLabels: [String], columnLabels: [String], values: [[Double?]], shades: [[Double?]]? = nil,
                rowTitle: String, columnTitle: String, scaleEnds: (low: String, high: String)) {
        precondition(values.count == rowLabels.count && values.allSatisfy { $0.count == columnLabels.count }, "HeatmapPlot: values must be rows × columns")
        self.rowLabels = rowLabels; self.columnLabels = columnLabels; self.values = values; self.shades = shades
        self.rowTitle = rowTitle; self.columnTitle = columnTitle; self.scaleEnds = scaleEnds
    }

    /// Shades from the values' own range (all equal → 0.5).
    private func resolvedShades() -> [[Double?]] {
        if let shades { return shades }
        let finite = values.flatMap { $0 }.compactMap { $0 }.filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else { return values.map { $0.map { _ in nil } } }
        return values.map { row in row.map { v in v.map { high > low ? ($0 - low) / (high - low) : 0.5 } } }
    }

    public func svg(title: String) -> String {
        let rowLabelWidth = max(70, Double(rowLabels.map(\.count).max() ?? 0) * 6.6 + 12)
        // Column labels longer than 10 characters are rotated by 35°: they rise about
        // 6 px × sin 35° ≈ 3.5 px per character.
        let longest = Double(columnLabels.map(\.count).max() ?? 0)
        let headerHeight = columnLabels.contains { $0.count > 10 } ? max(40, longest * 3.6 + 16) : 28
        let left = rowLabelWidth + 26, top = headerHeight + 8
        let gridWidth = Double(columnLabels.count) * cellWidth, gridHeight = Double(rowLabels.count) * cellHeight
        let width = left + gridWidth + 100, height = top + gridHeight + 40
        var svg = SVGDocument(width: width, height: height, title: title)
        let shades = resolvedShades()
        for (c, label) in columnLabels.enumerated() {
            let cx = left + (Double(c) + 0.5) * cellWidth
            let rotated = columnLabels.contains { $0.count > 10 }
            svg.text(label, x: cx, y: top - 6, anchor: rotated ? .start : .middle, size: 10.5, rotate: rotated ? -35 : nil)
        }
        for (r, label) in rowLabels.enumerated() {
            let cy = top + (Double(r) + 0.5) * cellHeight
            svg.text(label, x: left - 6, y: cy + 4, anchor: .end, size: 11)
            for c in columnLabels.indices {
                let (x0, y0) = (left + Double(c) * cellWidth, top + Double(r) * cellHeight)
                let tip = "\(label) · \(columnLabels[c]): " + (values[r][c].map(PlotScale.label) ?? "not measured")
                guard let value = values[r][c], value.isFinite, let shade = shades[r][c] else {
                    svg.rect(x0, y0, cellWidth, cellHeight, fill: "#eee", stroke: "#fff", tooltip: tip)
                    svg.text("–", x: x0 + cellWidth / 2, y: y0 + cellHeight / 2 + 4, anchor: .middle, size: 11, fill: "#666")
                    continue
                }
                svg.rect(x0, y0, cellWidth, cellHeight, fill: Viridis.colour(shade), stroke: "#fff", tooltip: tip)
                svg.text(Self.cellText(value), x: x0 + cellWidth / 2, y: y0 + cellHeight / 2 + 4, anchor: .middle, size: 11,
                         fill: Viridis.lightness(shade) > 0.5 ? "#000" : "#fff")
            }
        }
        svg.text(columnTitle, x: left + gridWidth / 2, y: top + gridHeight + 22, anchor: .middle, size: 12)
        svg.text(rowTitle, x: 14, y: top + gridHeight / 2, anchor: .middle, size: 12, rotate: -90)
        // Colour bar.
        let barX = left + gridWidth + 24, barHeight = min(gridHeight, 160)
        for i in 0..<20 {
            let t = 1 - Double(i) / 19
            svg.rect(barX, top + Double(i) * barHeight / 20, 14, barHeight / 20 + 0.5, fill: Viridis.colour(t))
        }
        svg.text(scaleEnds.high, x: barX + 18, y: top + 9, size: 10.5)
        svg.text(scaleEnds.low, x: barX + 18, y: top + barHeight, size: 10.5)
        return svg.rendered()
    }

    /// Three significant digits, enough to tell cells apart.
    static func cellText(_ value: Double) -> String {
        let magnitude = abs(value)
        if magnitude >= 100 { return String(format: "%.0f", value) }
        if magnitude >= 10 { return String(format: "%.1f", value) }
        if magnitude >= 0.01 || value == 0 { return String(format: "%.2f", value) }
        return String(format: "%.1e", value)
    }
}
