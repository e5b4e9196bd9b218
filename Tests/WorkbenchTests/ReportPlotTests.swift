import Foundation
import Testing
@testable import Workbench

@Suite("Report: scales, colours and SVG drawing")
struct ReportPlotTests {
    @Test("a linear axis pads to 1-2-5 ticks and maps its ends to the pixel range")
    func linearScale() {
        let scale = PlotScale(kind: .linear, covering: [0.03, 0.97], from: 100, to: 500)
        #expect(scale.lower == 0 && scale.upper == 1)
        #expect(scale.ticks() == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
        #expect(scale.pixel(0) == 100 && scale.pixel(1) == 500 && scale.pixel(0.5) == 300)
        let flipped = PlotScale(kind: .linear, covering: [10, 37], from: 300, to: 20)
        #expect(flipped.lower == 10 && flipped.upper == 40, "step 10 for a range of 27")
        #expect(flipped.pixel(40) == 20, "y grows downward: the top of the range is the top pixel")
    }

    @Test("a log axis covers whole quarter-decades and ticks at powers of ten (with 2 and 5 over short spans)")
    func logScale() {
        let wide = PlotScale(kind: .log10, covering: [3e-10, 1, -1, 0], from: 0, to: 100)
        #expect(abs(wide.lower - pow(10, -9.75)) < 1e-20 && wide.upper == 1, "non-positive values ignored")
        #expect(wide.ticks() == (-9...0).map { pow(10, Double($0)) })
        let short = PlotScale(kind: .log10, covering: [1.5, 40], from: 0, to: 100)
        #expect(short.lower == 1 && abs(short.upper - pow(10, 1.75)) < 1e-9)
        #expect(short.ticks() == [1, 2, 5, 10, 20, 50])
        #expect(abs(short.pixel(10) - 100 * (1 - log10(short.lower)) / (log10(short.upper) - log10(short.lower))) < 1e-9)
    }

    @Test("a constant or empty range is widened instead of dividing by zero")
    func degenerateRange() {
        let constant = PlotScale(kind: .linear, covering: [2, 2], from: 0, to: 10)
        #expect(constant.lower < 2 && constant.upper > 2)
        let empty = PlotScale(kind: .linear, covering: [.nan], from: 0, to: 10)
        #expect(empty.pixel(empty.lower) == 0 && empty.upper > empty.lower)
    }

    @Test("tick labels are plain decimals, with exponents only for tiny or huge values")
    func tickLabels() {
        #expect(PlotScale.label(0.25) == "0.25" && PlotScale.label(40) == "40" && PlotScale.label(0) == "0")
        #expect(PlotScale.label(1e-6) == "1e-6" && PlotScale.label(2e7) == "2e7")
    }

    @Test("viridis runs from matplotlib's first to last colour and its lightness rises monotonically (grayscale-safe)")
    func viridis() {
        #expect(Viridis.colour(0) == "#440154" && Viridis.colour(1) == "#fde725")
        #expect(Viridis.colour(-3) == "#440154" && Viridis.colour(.nan) == "#440154", "clamped")
        let lightness = stride(from: 0.0, through: 1.0, by: 0.05).map(Viridis.lightness)
        #expect(zip(lightness, lightness.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test("series differ in marker and dash as well as colour, for the first eight")
    func seriesStyles() {
        let styles = (0..<8).map(SeriesStyle.at)
        #expect(Set(styles.map(\.colour)).count == 8)
        #expect(Set(styles.map { "\($0.marker)" }).count == 8)
    }

    @Test("text is escaped and the image is standalone SVG with its title")
    func svgDocument() {
        var svg = SVGDocument(width: 100, height: 50, title: "a < b & \"c\"")
        svg.text("x<y", x: 1, y: 2)
        let text = svg.rendered()
        #expect(text.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100\" height=\"50\" viewBox=\"0 0 100 50\""))
        #expect(text.contains("<title>a &lt; b &amp; &quot;c&quot;</title>") && text.contains(">x&lt;y</text>"))
        #expect(!text.contains("<script") && !text.contains("href"))
        #expect(SVGDocument.coordinate(1.006) == "1.01" && SVGDocument.coordinate(3) == "3" && SVGDocument.coordinate(2.5) == "2.5")
    }
}

@Suite("Report: figures drawn from the analyses' tables")
struct ReportFigureTests {
    /// An evaluation table of one configuration, two seeds, an accuracy task and an NLL skill.
    static func evaluation() -> TidyTable {
        var table = TidyTable(name: "evaluation", summary: "", columns: [
            "label", "seed", "stage", "task", "column", "column_kind", "metric", "metric_value", "direction",
        ].map { .init($0, "") })
        for (seed, shift) in [(0, 0.0), (1, 0.2)] {
            for (stage, index, accuracy, nll) in [("base", 0, 0.1, 3.0), ("edit", 1, 0.9, 3.5)] {
                let task: TidyTable.Value = index == 0 ? .missing : .text(stage)
                table.append([.text("full"), .integer(seed), .integer(index), task, .text("text"), .text("skill"),
                              .text("mean_nll"), .number(nll + shift), .text("lower")])
                table.append([.text("full"), .integer(seed), .integer(index), task, .text("edit"), .text("task"),
                              .text("exact_match"), .number(accuracy), .text("higher")])
            }
        }
        return table
    }

    @Test("a metric heatmap writes the mean over seeds and shades each column in its own direction")
    func heatmapValuesAndDirection() throws {
        let figures = ReportFigures.metricHeatmaps(Self.evaluation())
        let figure = try #require(figures.first)
        #expect(figures.count == 1 && figure.id == "metric-matrix-full")
        #expect(figure.svg.contains(">3.10</text>") && figure.svg.contains(">3.60</text>"), "NLL means over seeds: 3.1 and 3.6")
        // The lower NLL (base) is the better end: brightest colour; the higher one is the darkest.
        #expect(figure.svg.contains("base · text (NLL ↓): 3.1</title>"))
        let baseNLL = try #require(figure.svg.range(of: "<rect x=\"[0-9.]+\" y=\"[0-9.]+\" width=\"74\" height=\"26\" fill=\"#fde725\"[^>]*><title>base · text", options: .regularExpression))
        #expect(!baseNLL.isEmpty)
        #expect(figure.svg.contains("fill=\"#440154\" stroke=\"#fff\"><title>after edit · text (NLL ↓): 3.6</title>"))
        #expect(figure.caption.contains("2 seeds"))
    }

    @Test("learned vs forgotten has error bars only where two or more seeds give a spread")
    func learnedVersusForgotten() throws {
        var summary = TidyTable(name: "forgetting_summary", summary: "", columns: ["label", "metric", "mean", "std", "n"].map { .init($0, "") })
        summary.append([.text("full"), .text("learned"), .number(0.8), .number(0.1), .integer(3)])
        summary.append([.text("full"), .text("forgotten"), .number(0.3), .number(0.05), .integer(3)])
        summary.append([.text("lora"), .text("learned"), .number(0.5), .number(0), .integer(1)])
        summary.append([.text("lora"), .text("forgotten"), .number(0.1), .number(0), .integer(1)])
        let figure = try #require(ReportFigures.learnedVersusForgotten(summary).first)
        #expect(figure.svg.components(separatedBy: "stroke-width=\"1.2\"").count - 1 == 6, "full: two bars with two caps each; lora: none")
        #expect(figure.svg.contains("full: (0.8, 0.3) full") && figure.svg.contains("lora: (0.5, 0.1) lora"))
    }

    @Test("with NLL and accuracy columns, learned vs forgotten is drawn once per unit")
    func learnedVersusForgottenPerUnit() {
        var summary = TidyTable(name: "forgetting_summary", summary: "", columns: ["label", "metric", "mean", "std", "n"].map { .init($0, "") })
        for metric in ["learned", "forgotten", "learned_accuracy", "learned_nll", "forgotten_accuracy", "forgotten_nll"] {
            summary.append([.text("full"), .text(metric), .number(0.2), .number(0.01), .integer(2)])
        }
        #expect(ReportFigures.learnedVersusForgotten(summary).map(\.id) == ["learned-vs-forgotten-accuracy", "learned-vs-forgotten-nll"])
    }

    @Test("spectra are normalized by σ₁ and take the median over matrices at each index")
    func spectraMedian() throws {
        var values = TidyTable(name: "singular_values", summary: "", columns: ["label", "seed", "stage", "matrix", "kind", "index", "sigma"].map { .init($0, "") })
        for (matrix, sigmas) in [("a", [4.0, 2, 1]), ("b", [10.0, 1, 0.1]), ("c", [1.0, 0.5, 0.5])] {
            for (i, s) in sigmas.enumerated() {
                values.append([.text("full"), .integer(0), .integer(1), .text(matrix), .text("cumulative"), .integer(i + 1), .number(s)])
            }
        }
        let figure = try #require(ReportFigures.spectra(values).first)
        // Medians: i=1 → 1; i=2 → median(0.5, 0.1, 0.5) = 0.5; i=3 → median(0.25, 0.01, 0.5) = 0.25.
        #expect(figure.caption.contains("full: seed 0, stage 1, cumulative, 3 matrices"))
        #expect(figure.svg.contains("<polyline"))
        let scale = PlotScale(kind: .log10, covering: [1, 0.5, 0.25], from: 366 - 38, to: 14)
        #expect(figure.svg.contains(SVGDocument.coordinate(scale.pixel(0.25))), "the last point sits at the median 0.25")
    }

    @Test("a report page is self-contained: inline SVG, no script, no external reference")
    func selfContainedPage() {
        let figure = ReportFigure(section: ReportFigures.trainingSection, id: "Loss Curves!", title: "t", caption: "c <b>", svg: "<svg></svg>")
        #expect(figure.id == "loss-curves-")
        let html = StudyReport(source: "/x/results.h5", figures: [figure], log: ["forgetting: skipped"]).html()
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg></svg>") && html.contains("c &lt;b&gt;"))
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://") && !html.contains("<link"))
    }
}
