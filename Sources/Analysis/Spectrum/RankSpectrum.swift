import Foundation
import PEFTEngine

/// Rank measures of an m×n matrix A computed from its singular values σ₁ ≥ σ₂ ≥ … ≥ 0.
///
/// All sums run in Double. The spectrum may be the full min(m, n) values (`SVD.singularValues`)
/// or only the top k of them (a randomized SVD): then pass `totalEnergy` = ‖A‖²_F so that the
/// energy-based measures still refer to the whole matrix, and `isTruncated` is true.
///
/// What each measure means on a truncated spectrum:
/// - `frobeniusNormSquared`, `spectralNorm`, `stableRank`: exact (they need only ‖A‖²_F and σ₁).
/// - `energyRank(fraction:)`: exact when reachable within the given values, else `nil`.
/// - `effectiveRank`: computed over the given values only — a different quantity from the full
///   spectrum's (it ignores the tail); read it only together with `isTruncated`.
/// - `numericalRank`: counts the given values above the tolerance, so it is a lower bound.
public struct RankSpectrum: Sendable, Equatable, Codable {
    /// The singular values as given, descending.
    public let singularValues: [Float]
    /// m, the number of rows of A.
    public let rows: Int
    /// n, the number of columns of A.
    public let columns: Int
    /// True when fewer than min(m, n) singular values were given.
    public let isTruncated: Bool

    /// ‖A‖²_F = Σᵢ σᵢ² over the whole spectrum (the given `totalEnergy`, or Σ σᵢ² of the values).
    public let frobeniusNormSquared: Double
    /// ‖A‖₂ = σ₁ (0 for an empty spectrum).
    public let spectralNorm: Double
    /// Stable rank ‖A‖²_F / ‖A‖²₂ = Σσᵢ² / σ₁² (Rudelson & Vershynin 2007, "Sampling from large
    /// matrices: an approach through geometric functional analysis"); 1 ≤ stable rank ≤ rank,
    /// and 0 for the zero matrix.
    public let stableRank: Double
    /// Effective rank exp(H(p)) with pᵢ = σᵢ / Σⱼ σⱼ and Shannon entropy H(p) = −Σ pᵢ ln pᵢ,
    /// 0 · ln 0 = 0 (Roy & Vetterli 2007, "The effective rank: a measure of effective
    /// dimensionality"); 0 for the zero matrix. Over the given values only (see `isTruncated`).
    public let effectiveRank: Double
    /// Number of σᵢ > `numericalRankTolerance` among the given values.
    public let numericalRank: Int
    /// tol = max(m, n) · ε · σ₁ with ε = `Float.ulpOfOne` = 2⁻²³, the float32 machine epsilon —
    /// numpy's `matrix_rank` default for float32 input.
    public let numericalRankTolerance: Double
    /// `energyRank(fraction: 0.5)`: components holding 50 % of the energy.
    public let energyRank50: Int?
    /// `energyRank(fraction: 0.9)`: components holding 90 % of the energy.
    public let energyRank90: Int?
    /// `energyRank(fraction: 0.99)`: components holding 99 % of the energy.
    public let energyRank99: Int?

    /// Relative slack in `energyRank(fraction:)`: a prefix counts once its energy reaches
    /// fraction · ‖A‖²_F · (1 − slack), so a fraction met exactly is not lost to rounding.
    public static let energyRelativeSlack = 1e-12

    /// How far below Σσ² of the given values `totalEnergy` may fall (float32 rounding of the
    /// values) before it is rejected as a caller mistake.
    public static let totalEnergyRelativeSlack = 1e-4

    /// Measures from singular values of an m×n matrix.
    ///
    /// - Parameters:
    ///   - singularValues: σ₁ ≥ σ₂ ≥ … ≥ 0, at most min(m, n) of them, all finite.
    ///   - totalEnergy: ‖A‖²_F when `singularValues` is only the top k; required in that case.
    ///     When nil, Σ σᵢ² of the given values is used. Must be ≥ Σ σᵢ² (up to rounding).
    public init(singularValues: [Float], rows: Int, columns: Int, totalEnergy: Double? = nil) {
        precondition(rows >= 0 && columns >= 0, "RankSpectrum: negative shape \(rows)×\(columns)")
        let k = min(rows, columns)
        precondition(
            singularValues.count <= k,
            "RankSpectrum: \(singularValues.count) singular values for a \(rows)×\(columns) matrix (at most \(k))")
        for (i, sigma) in singularValues.enumerated() {
            precondition(sigma.isFinite && sigma >= 0, "RankSpectrum: σ[\(i)] = \(sigma) is not finite and ≥ 0")
            precondition(
                i == 0 || sigma <= singularValues[i - 1],
                "RankSpectrum: singular values must descend, σ[\(i)] = \(sigma) > σ[\(i - 1)] = \(singularValues[i - 1])")
        }
        let truncated = singularValues.count < k
        precondition(
            !truncated || totalEnergy != nil,
            "RankSpectrum: \(singularValues.count) of \(k) singular values given; pass totalEnergy = ‖A‖²_F")

        var sumOfSquares = 0.0, sum = 0.0
        for sigma in singularValues {
            let s = Double(sigma)
            sumOfSquares += s * s
            sum += s
        }
        let energy = totalEnergy ?? sumOfSquares
        if let totalEnergy {
            precondition(
                totalEnergy.isFinite && totalEnergy >= sumOfSquares * (1 - Self.totalEnergyRelativeSlack),
                "RankSpectrum: totalEnergy \(totalEnergy) is below Σσ² = \(sumOfSquares) of the given values")
        }

        let sigma1 = singularValues.first.map(Double.init) ?? 0
        var entropy = 0.0
        if sum > 0 {
            for sigma in singularValues where sigma > 0 {
                let p = Double(sigma) / sum
                entropy -= p * log(p)
            }
        }
        let tolerance = Double(Swift.max(rows, columns)) * Double(Float.ulpOfOne) * sigma1
        var aboveTolerance = 0
        for sigma in singularValues where Double(sigma) > tolerance { aboveTolerance += 1 }

        self.singularValues = singularValues
        self.rows = rows
        self.columns = columns
        self.isTruncated = truncated
        self.frobeniusNormSquared = energy
        self.spectralNorm = sigma1
        self.stableRank = sigma1 > 0 ? energy / (sigma1 * sigma1) : 0
        self.effectiveRank = sum > 0 ? exp(entropy) : 0
        self.numericalRank = aboveTolerance
        self.numericalRankTolerance = tolerance
        self.energyRank50 = Self.energyRank(fraction: 0.5, of: singularValues, energy: energy)
        self.energyRank90 = Self.energyRank(fraction: 0.9, of: singularValues, energy: energy)
        self.energyRank99 = Self.energyRank(fraction: 0.99, of: singularValues, energy: energy)
    }

    /// The spectrum of `matrix` (rank 2) from all its singular values (`SVD.singularValues`).
    ///
    /// - Throws: `SVDError` for non-finite input or a LAPACK failure.
    public static func of(
        _ matrix: Tensor, threading: SVD.Threading = .singleThreadWhenSmall
    ) throws -> RankSpectrum {
        let values = try SVD.singularValues(of: matrix, threading: threading)
        return RankSpectrum(singularValues: values, rows: matrix.rows, columns: matrix.columns)
    }

    /// The smallest k with Σ_{i≤k} σᵢ² ≥ fraction · ‖A‖²_F (within `energyRelativeSlack`).
    ///
    /// 0 for fraction 0 or the zero matrix; `nil` when the given values do not reach the
    /// fraction (only possible for a truncated spectrum, or a `totalEnergy` above Σσ²).
    public func energyRank(fraction: Double) -> Int? {
        Self.energyRank(fraction: fraction, of: singularValues, energy: frobeniusNormSquared)
    }

    private static func energyRank(fraction: Double, of values: [Float], energy: Double) -> Int? {
        precondition((0...1).contains(fraction), "RankSpectrum.energyRank: fraction \(fraction) outside [0, 1]")
        let target = fraction * energy * (1 - energyRelativeSlack)
        if target <= 0 { return 0 }
        var cumulative = 0.0
        for (i, sigma) in values.enumerated() {
            cumulative += Double(sigma) * Double(sigma)
            if cumulative >= target { return i + 1 }
        }
        return nil
    }

}
