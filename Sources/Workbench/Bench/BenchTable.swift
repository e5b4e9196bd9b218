/// The human-readable side of `workbench bench`: a fixed-width table, one row per figure, so
/// rows can be printed as figures arrive.
public enum BenchTable {
    public static let header = row([
        "figure", "size", "threads", "best", "median", "unit", "reps", "kernel", "of peak", "vs ref", "detail",
    ])

    /// One row; "of peak" is `fraction_of_peak` in percent, "vs ref" is best / reference
    /// (for rates; reference / best for times), "detail" what was measured (and, for training,
    /// the fastest step's phases and the speed over full fine-tuning).
    public static func row(_ figure: BenchFigure) -> String {
        let ofPeak = figure.fractionOfPeak.map { String(format: "%.0f%%", 100 * $0) } ?? ""
        let versus = figure.reference.map { reference in
            String(format: "%.2f×", figure.unit == "s" ? reference / figure.best : figure.best / reference)
        } ?? ""
        return row([
            figure.name, "\(figure.size)", "\(figure.threads)", format(figure.best),
            format(figure.median), figure.unit, "\(figure.reps)", figure.blasKernel, ofPeak, versus,
            [figure.detail, phases(figure), figure.versusFull.map { String(format: "%.2f× full", $0) },
             figure.peakResidentMB.map { rss in
                 String(format: "peak RSS %.0f MB", rss) + (figure.referencePeakResidentMB.map { String(format: " (ref %.0f)", $0) } ?? "")
             }]
                .compactMap { $0 }.joined(separator: " · "),
        ])
    }

    /// "fwd 27.5 bwd 27.1 upd 0.3 ms" from `phase_ms`, nil without phases.
    private static func phases(_ figure: BenchFigure) -> String? {
        guard let p = figure.phaseMilliseconds, let f = p["forward"], let b = p["backward"], let u = p["update"] else { return nil }
        return String(format: "fwd %.1f bwd %.1f upd %.1f ms", f, b, u)
    }

    private static let widths = [14, 10, 7, 11, 11, 8, 5, 12, 7, 7, 0]

    private static func row(_ cells: [String]) -> String {
        zip(cells, widths).map { cell, width in
            cell.count >= width ? cell : cell + String(repeating: " ", count: width - cell.count)
        }.joined(separator: " ")
    }

    /// Four significant digits, without scientific notation for the usual ranges.
    private static func format(_ x: Double) -> String {
        if x >= 100 { return String(Int(x.rounded())) }
        var digits = 3
        var magnitude = x
        while magnitude < 1 && magnitude > 0 && digits < 9 { magnitude *= 10; digits += 1 }
        let scale = pow10(digits)
        return String((x * scale).rounded() / scale)
    }

    private static func pow10(_ n: Int) -> Double { (0..<n).reduce(1.0) { r, _ in r * 10 } }
}
