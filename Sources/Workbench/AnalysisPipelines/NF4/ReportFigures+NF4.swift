import Foundation

extension ReportFigures {
    static let quantizationSection = "4-bit quantization"

    /// Quantization error from `nf4_error`: relative Frobenius error ‖Q(W) − W‖_F/‖W‖_F per
    /// target (base W₀, fine-tuned W, ΔW) and format, mean ± std over matrices (single
    /// quantization; the double-quantized rows differ in the fourth digit).
    public static func quantizationError(_ errors: TidyTable) -> [ReportFigure] {
        let rows = errors.namedRows.filter { $0.integer("double_quant") == 0 }
        guard !rows.isEmpty else { return [] }
        let categories = ordered(rows.map { $0.text("target") == "base" ? "base W₀" : "\($0.text("target")) (\($0.text("method")))" })
        let formats = ordered(rows.map { $0.text("format") })
        func category(_ row: TidyTable.Row) -> String { row.text("target") == "base" ? "base W₀" : "\(row.text("target")) (\(row.text("method")))" }
        let values = formats.map { format in categories.map { c -> (value: Double, error: Double?)? in
            let xs = rows.filter { $0.text("format") == format && category($0) == c }.compactMap { $0.number("relative_frobenius") }
            return mean(xs).map { ($0, standardDeviation(xs)) }
        } }
        var plot = BarPlot(categories: categories, seriesNames: formats.map { $0.uppercased() }, values: values,
                           xLabel: "quantized tensor (method)", yLabel: "relative error ‖Q(W) − W‖_F / ‖W‖_F")
        plot.width = max(680, Double(categories.count * formats.count) * 34 + 300)
        let blocksize = rows.first?.integer("blocksize").map { " with blocks of \($0)" } ?? ""
        return [ReportFigure(section: quantizationSection, id: "quantization-error", title: "4-bit quantization error by format",
                             caption: "Blockwise absmax quantization\(blocksize) to NF4, FP4 (bitsandbytes' codes) and Int4, error relative to the tensor's norm, mean over matrices (bars: one standard deviation over matrices). ΔW is far harder to quantize than W: its blocks are dominated by a few large entries.",
                             svg: plot.svg(title: "4-bit quantization error"))]
    }
}
