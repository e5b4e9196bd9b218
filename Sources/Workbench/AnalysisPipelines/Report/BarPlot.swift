import Foundation

/// Grouped bars with error bars: one group per category on the x axis, one bar per series in
/// each group (e.g. NF4, FP4, Int4 per weight target). Bars carry a fill and a hatch-free
/// grayscale-safe shade per series; missing values leave a gap.
public struct BarPlot: Sendable {
    public var categories: [String]
    public var seriesNames: [String]
    /// values[series][category], with optional half-width error.
    public var values: [[(value: Double, error: Double?)?]]
    public var xLabel: String
    public var yLabel: String
    public var yScale: PlotScale.Kind = .linear
    public var width: Double = 680
    public var height: Double = 380

    public init(categories: [String], seriesNames: [String], values: [[(value: Double, error: Double?)?]], xLabel: String, yLabel: String) {
        precondition(values.count == seriesNames.count && values.allSatisfy { $0.count == categories.count }, "BarPlot: values must be series × categories")
        self.categories = categories; self.seriesNames = seriesNames; self.values = values; self.xLabel = xLabel; self.yLabel = yLabel
    }

    /// Bar fills: dark to light, so series differ in lightness as well as hue.
    static let fills = ["#1f3a68", "#d55e00", "#7fb3d5", "#f0c27b", "#4d4d4d", "#b8e0b0"]

    public func svg(title: String) -> String {
        let legendWidth: Double = seriesNames.count > 1 ? 170 : 0
        let (left, right, top, bottom) = (72.0, width - 16 - legendWidth, 14.0, height - 60)
        let all = values.flatMap { $0 }.compactMap { $0 }.flatMap { [$0.value, $0.value + ($0.error ?? 0)] }
        let y = PlotScale(kind: yScale, covering: all, from: bottom, to: top, includeZero: yScale == .linear)
        var svg = SVGDocument(width: width, height: height, title: title)
        PlotAxes.drawYTicks(into: &svg, y: y, left: left, right: right)
        let groupWidth = (right - left) / Double(max(categories.count, 1))
        let barWidth = groupWidth * 0.8 / Double(max(seriesNames.count, 1))
        let base = yScale == .linear ? y.pixel(max(0, y.lower)) : bottom
        for (c, category) in categories.enumerated() {
            let groupLeft = left + Double(c) * groupWidth + groupWidth * 0.1
            for s in seriesNames.indices {
                guard let bar = values[s][c], bar.value.isFinite else { continue }
                let x0 = groupLeft + Double(s) * barWidth
                let top = min(max(y.pixel(bar.value), 14), bottom)
                svg.rect(x0, min(top, base), barWidth - 2, abs(base - top), fill: Self.fills[s % Self.fills.count], stroke: "#000",
                         tooltip: "\(seriesNames[s]) · \(category): \(PlotScale.label(bar.value))" + (bar.error.map { " ± " + PlotScale.label($0) } ?? ""))
                if let e = bar.error, e > 0 {
                    let cx = x0 + (barWidth - 2) / 2
                    let (a, b) = (min(max(y.pixel(bar.value - e), 14), bottom), min(max(y.pixel(bar.value + e), 14), bottom))
                    svg.line(cx, a, cx, b, stroke: "#000", width: 1.2)
                    svg.line(cx - 3, b, cx + 3, b, stroke: "#000", width: 1.2)
                    svg.line(cx - 3, a, cx + 3, a, stroke: "#000", width: 1.2)
                }
            }
            svg.text(category, x: left + (Double(c) + 0.5) * groupWidth, y: bottom + 16, anchor: .middle, size: 11)
        }
        svg.line(left, bottom, right, bottom, stroke: "#000")
        svg.line(left, top, left, bottom, stroke: "#000")
        svg.text(xLabel, x: (left + right) / 2, y: bottom + 40, anchor: .middle, size: 12.5)
        svg.text(yLabel, x: 16, y: (top + bottom) / 2, anchor: .middle, size: 12.5, rotate: -90)
        if legendWidth > 0 {
            for (s, name) in seriesNames.enumerated() {
                let cy = top + 12 + Double(s) * 19
                svg.rect(right + 16, cy - 6, 22, 12, fill: Self.fills[s % Self.fills.count], stroke: "#000")
                svg.text(name, x: right + 44, y: cy + 4, size: 11)
            }
        }
        return svg.rendered()
    }
}
