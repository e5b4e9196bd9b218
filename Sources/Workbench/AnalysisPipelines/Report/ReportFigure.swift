import Foundation

/// One figure of a report: an SVG image with the title and caption a reader needs to read it
/// without the code (what is plotted, units, spread, which seeds and stages).
public struct ReportFigure: Sendable {
    /// Report section, e.g. "Retained performance".
    public var section: String
    /// File-name-safe and unique within a report: the name of its standalone `.svg`.
    public var id: String
    public var title: String
    public var caption: String
    public var svg: String

    public init(section: String, id: String, title: String, caption: String, svg: String) {
        self.section = section; self.id = Self.fileSafe(id); self.title = title; self.caption = caption; self.svg = svg
    }

    /// Lower-case letters, digits, `-`, `_` and `.`; anything else becomes `-`.
    static func fileSafe(_ text: String) -> String {
        String(text.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) ? $0 : "-" })
    }
}

/// The figures of a report, built from the analyses' tables only — never from the results file
/// directly — so a figure shows exactly the numbers `workbench export` writes.
public enum ReportFigures {
    /// Distinct values in first-appearance order.
    static func ordered(_ values: [String]) -> [String] {
        var seen = Set<String>(), out: [String] = []
        for v in values where seen.insert(v).inserted { out.append(v) }
        return out
    }

    /// Mean (nil for no values) and sample standard deviation (nil for fewer than two: a spread
    /// of one seed is undefined), as the tables compute them (`LowRankTest.meanAndStandardDeviation`).
    static func mean(_ xs: [Double]) -> Double? { LowRankTest.meanAndStandardDeviation(xs).0 }
    static func standardDeviation(_ xs: [Double]) -> Double? { LowRankTest.meanAndStandardDeviation(xs).1 }

    static func median(_ xs: [Double]) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// "n seeds" / "1 seed".
    static func seedsPhrase(_ n: Int) -> String { n == 1 ? "1 seed (no spread)" : "\(n) seeds" }
}
