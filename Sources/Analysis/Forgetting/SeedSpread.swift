import Foundation

/// Mean, sample standard deviation and range of one scalar measured over several seeds.
///
/// standardDeviation is the sample (Bessel-corrected) one, s = √(Σ (xᵢ − x̄)² / (n − 1)),
/// and 0 for a single value. Sums are plain two-pass loops in Double.
public struct SeedSpread: Sendable, Equatable, Codable, CustomStringConvertible {
    /// x̄ = (1/n) Σ xᵢ.
    public let mean: Double
    /// √(Σ (xᵢ − x̄)² / (n − 1)); 0 when n = 1.
    public let standardDeviation: Double
    /// n, the number of values (seeds).
    public let count: Int
    /// The smallest value.
    public let min: Double
    /// The largest value.
    public let max: Double

    /// Summarizes `values` (one per seed); at least one value is required.
    public init(_ values: [Double]) {
        precondition(!values.isEmpty, "SeedSpread needs at least one value")
        var sum = 0.0, low = values[0], high = values[0]
        for x in values {
            sum += x
            low = Swift.min(low, x)
            high = Swift.max(high, x)
        }
        let mean = sum / Double(values.count)
        var squares = 0.0
        for x in values { squares += (x - mean) * (x - mean) }
        self.mean = mean
        self.standardDeviation = values.count > 1 ? (squares / Double(values.count - 1)).squareRoot() : 0
        self.count = values.count
        self.min = low
        self.max = high
    }

    /// "mean ± standardDeviation (n=count)" with `decimals` digits after the point.
    public func formatted(decimals: Int = 3) -> String {
        precondition(decimals >= 0, "SeedSpread.formatted: decimals must be ≥ 0, got \(decimals)")
        let format = "%.\(decimals)f"
        return String(format: format, mean) + " ± " + String(format: format, standardDeviation)
            + " (n=\(count))"
    }

    /// E.g. "0.812 ± 0.031 (n=3)".
    public var description: String { formatted() }
}
