import Foundation

/// A chart of points on two numeric axes: lines (loss curves, spectra, recovery curves),
/// scatters with error bars in x and y (learned vs forgotten), and shaded bands (a null
/// distribution). Axes carry labels with units; the legend names every series and band.
public struct XYPlot: Sendable {
    public struct Point: Sendable, Equatable {
        public var x: Double
        public var y: Double
        /// Half-widths of the error bars (e.g. one standard deviation across seeds); nil = none.
        public var xError: Double?
        public var yError: Double?
        /// Text written beside the point (scatter plots), and its tooltip.
        public var label: String?
        public init(x: Double, y: Double, xError: Double? = nil, yError: Double? = nil, label: String? = nil) {
            self.x = x; self.y = y; self.xError = xError; self.yError = yError; self.label = label
        }
    }

    public enum Drawing: Sendable { case line, markers, lineAndMarkers }

    public struct Series: Sendable {
        public var name: String
        public var points: [Point]
        public var drawing: Drawing
        public init(name: String, points: [Point], drawing: Drawing = .lineAndMarkers) {
            self.name = name; self.points = points; self.drawing = drawing
        }
    }

    /// A shaded region between `lower` and `upper` at each x.
    public struct Band: Sendable {
        public var name: String
        public var x: [Double]
        public var lower: [Double]
        public var upper: [Double]
        public init(name: String, x: [Double], lower: [Double], upper: [Double]) {
            self.name = name; self.x = x; self.lower = lower; self.upper = upper
        }
    }

    public var xLabel: String
    public var yLabel: String
    public var xScale: PlotScale.Kind = .linear
    public var yScale: PlotScale.Kind = .linear
    public var series: [Series] = []
    public var bands: [Band] = []
    /// Horizontal reference lines: (y, label).
    public var referenceLines: [(y: Double, label: String)] = []
    /// Write each point's `label` beside it (off when many points would overlap: the legend
    /// and the tooltips still name them).
    public var showPointLabels = true
    public var includeZeroX = false
    public var includeZeroY = false
    /// Fixed y range (e.g. 0…1 for fractions); nil = fit the data.
    public var yRange: ClosedRange<Double>?
    public var width: Double = 680
    public var height: Double = 380

    public init(xLabel: String, yLabel: String) { self.xLabel = xLabel; self.yLabel = yLabel }

    /// Every value the axes must show: points with their error bars, bands, reference lines.
    private func extent() -> (xs: [Double], ys: [Double]) {
        var xs: [Double] = [], ys: [Double] = []
        for s in series {
            for p in s.points where p.x.isFinite && p.y.isFinite {
                xs += [p.x - (p.xError ?? 0), p.x + (p.xError ?? 0)]
                ys += [p.y - (p.yError ?? 0), p.y + (p.yError ?? 0)]
                if yScale == .log10 { ys.append(p.y) }
            }
        }
        for b in bands { xs += b.x; ys += b.lower + b.upper }
        ys += referenceLines.map(\.y)
        if let yRange { ys = [yRange.lowerBound, yRange.upperBound] }
        return (xs, ys)
    }

    public func svg(title: String) -> String {
        let legendEntries = series.count + bands.count + referenceLines.count
        let legendWidth: Double = legendEntries > 1 || !bands.isEmpty ? 190 : 0
        let (left, right, top, bottom) = (72.0, width - 16 - legendWidth, 14.0, height - 52)
        let (xs, ys) = extent()
        let x = PlotScale(kind: xScale, covering: xs, from: left, to: right, includeZero: includeZeroX)
        let y = PlotScale(kind: yScale, covering: ys, from: bottom, to: top, includeZero: includeZeroY)
        var svg = SVGDocument(width: width, height: height, title: title)
        PlotAxes.draw(into: &svg, x: x, y: y, xLabel: xLabel, yLabel: yLabel)

        func clampedY(_ v: Double) -> Double { min(max(y.pixel(v), top), bottom) }
        for (i, band) in bands.enumerated() {
            let upper = zip(band.x, band.upper).filter { x.contains($0.0) }.map { (x.pixel($0.0), clampedY($0.1)) }
            let lower = zip(band.x, band.lower).filter { x.contains($0.0) }.map { (x.pixel($0.0), clampedY($0.1)) }
            svg.polygon(upper + lower.reversed(), fill: i == 0 ? "#666" : "#aaa", opacity: 0.4)
        }
        for line in referenceLines where y.contains(line.y) {
            svg.line(left, y.pixel(line.y), right, y.pixel(line.y), stroke: "#555", width: 1, dash: "5 4")
        }
        for (i, s) in series.enumerated() {
            let style = SeriesStyle.at(i)
            let visible = s.points.filter { x.contains($0.x) && y.contains($0.y) }
            if s.drawing != .markers {
                svg.polyline(visible.map { (x.pixel($0.x), y.pixel($0.y)) }, stroke: style.colour, width: 1.8, dash: style.dash)
            }
            for p in visible {
                let (px, py) = (x.pixel(p.x), y.pixel(p.y))
                if let e = p.yError, e > 0 {
                    let (a, b) = (clampedY(p.y - e), clampedY(p.y + e))
                    svg.line(px, a, px, b, stroke: style.colour, width: 1.2)
                    svg.line(px - 4, a, px + 4, a, stroke: style.colour, width: 1.2)
                    svg.line(px - 4, b, px + 4, b, stroke: style.colour, width: 1.2)
                }
                if let e = p.xError, e > 0 {
                    let (a, b) = (min(max(x.pixel(p.x - e), left), right), min(max(x.pixel(p.x + e), left), right))
                    svg.line(a, py, b, py, stroke: style.colour, width: 1.2)
                    svg.line(a, py - 4, a, py + 4, stroke: style.colour, width: 1.2)
                    svg.line(b, py - 4, b, py + 4, stroke: style.colour, width: 1.2)
                }
                if s.drawing != .line {
                    let tip = "\(s.name): (\(PlotScale.label(p.x)), \(PlotScale.label(p.y)))" + (p.label.map { " " + $0 } ?? "")
                    svg.marker(style.marker, x: px, y: py, size: 8, colour: style.colour, tooltip: tip)
                }
                if showPointLabels, let label = p.label {
                    svg.text(label, x: px + 7, y: py - 6, size: 10.5, fill: "#222")
                }
            }
        }
        if legendWidth > 0 {
            var entries: [PlotLegend.Entry] = series.enumerated().map { i, s in
                .init(name: s.name, style: SeriesStyle.at(i), line: s.drawing != .markers, marker: s.drawing != .line)
            }
            entries += bands.enumerated().map { i, b in .init(name: b.name, band: i == 0 ? "#666" : "#aaa") }
            entries += referenceLines.map { .init(name: $0.label, reference: true) }
            PlotLegend.draw(entries, into: &svg, x: right + 16, y: top + 4, width: legendWidth - 8)
        }
        return svg.rendered()
    }
}

/// Axes, grid, ticks and axis titles shared by the plots.
enum PlotAxes {
    static func draw(into svg: inout SVGDocument, x: PlotScale, y: PlotScale, xLabel: String, yLabel: String) {
        let (left, right, top, bottom) = (x.start, x.end, y.end, y.start)
        drawYTicks(into: &svg, y: y, left: left, right: right)
        for tick in x.ticks() {
            let px = x.pixel(tick)
            svg.line(px, top, px, bottom, stroke: "#f0f0f0", width: 1)
            svg.line(px, bottom, px, bottom + 4, stroke: "#000")
            svg.text(PlotScale.label(tick), x: px, y: bottom + 17, anchor: .middle, size: 11)
        }
        svg.line(left, bottom, right, bottom, stroke: "#000")
        svg.line(left, top, left, bottom, stroke: "#000")
        svg.text(xLabel, x: (left + right) / 2, y: bottom + 38, anchor: .middle, size: 12.5)
        svg.text(yLabel, x: 16, y: (top + bottom) / 2, anchor: .middle, size: 12.5, rotate: -90)
    }

    /// The y axis's grid lines, ticks and tick labels between `left` and `right`.
    static func drawYTicks(into svg: inout SVGDocument, y: PlotScale, left: Double, right: Double) {
        for tick in y.ticks() {
            let py = y.pixel(tick)
            svg.line(left, py, right, py, stroke: "#e4e4e4", width: 1)
            svg.line(left - 4, py, left, py, stroke: "#000")
            svg.text(PlotScale.label(tick), x: left - 7, y: py + 4, anchor: .end, size: 11)
        }
    }
}

/// The legend column at the right of a plot.
enum PlotLegend {
    struct Entry {
        var name: String
        var style: SeriesStyle? = nil
        var line = false
        var marker = false
        var band: String? = nil
        var reference = false
    }

    static func draw(_ entries: [Entry], into svg: inout SVGDocument, x: Double, y: Double, width: Double) {
        let maxCharacters = Int((width - 34) / 6.2)
        for (i, entry) in entries.enumerated() {
            let cy = y + Double(i) * 19 + 8
            if let style = entry.style {
                if entry.line { svg.line(x, cy, x + 26, cy, stroke: style.colour, width: 1.8, dash: style.dash) }
                if entry.marker { svg.marker(style.marker, x: x + 13, y: cy, size: 8, colour: style.colour) }
            } else if let band = entry.band {
                svg.rect(x, cy - 6, 26, 12, fill: band, opacity: 0.4)
            } else if entry.reference {
                svg.line(x, cy, x + 26, cy, stroke: "#555", width: 1, dash: "5 4")
            }
            let name = entry.name.count > maxCharacters ? String(entry.name.prefix(maxCharacters - 1)) + "…" : entry.name
            svg.text(name, x: x + 32, y: cy + 4, size: 11)
        }
    }
}
