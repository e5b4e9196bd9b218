import Foundation

/// A map from data values to pixels along one axis, linear or base-10 logarithmic, with the
/// tick values a reader expects (1, 2, 5 × 10ⁿ steps; decades on a log axis).
public struct PlotScale: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case linear, log10 }

    public let kind: Kind
    /// Data range shown, after padding to ticks.
    public let lower: Double
    public let upper: Double
    /// Pixel positions of `lower` and `upper` (upper may be the smaller pixel: y grows downward).
    public let start: Double
    public let end: Double

    /// A scale covering `values` (non-finite values ignored; on a log axis, non-positive too).
    /// An empty or constant range is widened so the axis is never degenerate.
    public init(kind: Kind, covering values: [Double], from start: Double, to end: Double, includeZero: Bool = false) {
        self.kind = kind; self.start = start; self.end = end
        switch kind {
        case .linear:
            var xs = values.filter(\.isFinite)
            if includeZero { xs.append(0) }
            var low = xs.min() ?? 0, high = xs.max() ?? 1
            if high - low < 1e-12 * max(1, abs(high)) { low -= max(0.5, abs(low) * 0.1); high += max(0.5, abs(high) * 0.1) }
            let step = Self.niceStep((high - low) / 5)
            lower = (low / step).rounded(.down) * step
            upper = (high / step).rounded(.up) * step
        case .log10:
            let xs = values.filter { $0.isFinite && $0 > 0 }
            var low = log10(xs.min() ?? 1), high = log10(xs.max() ?? 10)
            if high - low < 1e-9 { low -= 0.5; high += 0.5 }
            lower = pow(10, (low * 4).rounded(.down) / 4)
            upper = pow(10, (high * 4).rounded(.up) / 4)
        }
    }

    /// The pixel of `value` (values outside the range land outside [start, end]; a non-positive
    /// value on a log axis lands at `start`).
    public func pixel(_ value: Double) -> Double {
        let fraction: Double
        switch kind {
        case .linear: fraction = (value - lower) / (upper - lower)
        case .log10: fraction = value > 0 ? (log10(value) - log10(lower)) / (log10(upper) - log10(lower)) : 0
        }
        return start + fraction * (end - start)
    }

    public func contains(_ value: Double) -> Bool {
        guard value.isFinite, kind == .linear || value > 0 else { return false }
        let slack: Double = 1e-12 * max(abs(lower), abs(upper))
        return value >= lower - slack && value <= upper + slack
    }

    /// Tick values inside the range: about five on a linear axis; powers of ten on a log axis,
    /// with 2 and 5 between them when the axis spans fewer than two decades.
    public func ticks() -> [Double] {
        switch kind {
        case .linear:
            let step = Self.niceStep((upper - lower) / 5)
            var ticks: [Double] = []
            var k = (lower / step).rounded(.up)
            while k * step <= upper + step * 1e-9 {
                ticks.append(abs(k * step) < step * 1e-9 ? 0 : k * step)
                k += 1
            }
            return ticks
        case .log10:
            let first = Int(log10(lower).rounded(.down)), last = Int(log10(upper).rounded(.up))
            let multipliers: [Double] = last - first <= 2 ? [1, 2, 5] : [1]
            let (low, high) = (lower * (1 - 1e-9), upper * (1 + 1e-9))
            var ticks: [Double] = []
            for exponent in first...last {
                let decade: Double = pow(10, Double(exponent))
                for multiplier in multipliers where multiplier * decade >= low && multiplier * decade <= high {
                    ticks.append(multiplier * decade)
                }
            }
            return ticks
        }
    }

    /// A tick label: plain decimals for ordinary magnitudes, 1e-3 style for tiny or huge ones.
    public static func label(_ value: Double) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude >= 1e5 || magnitude < 1e-3 {
            let exponent = Int(log10(magnitude).rounded(.down))
            let mantissa = value / pow(10, Double(exponent))
            return abs(mantissa - 1) < 1e-9 ? "1e\(exponent)" : String(format: "%.0fe%d", mantissa, exponent)
        }
        var text = String(format: "%.4f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// The smallest 1, 2 or 5 × 10ⁿ at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let power = pow(10, log10(raw).rounded(.down))
        for multiplier in [1.0, 2, 5, 10] where multiplier * power >= raw * (1 - 1e-9) { return multiplier * power }
        return 10 * power
    }
}
