import Foundation

/// The standard normal quantile function Φ⁻¹(p) (inverse CDF), in Double.
///
/// Peter J. Acklam's rational approximation (2003; relative error ≤ 1.15·10⁻⁹): a rational
/// function of q = p − ½ on the central region p ∈ [0.02425, 0.97575] and of
/// q = √(−2 ln p) on the tails, followed by one Halley step on Φ(x) − p using `erfc`,
/// which takes the result to within a few ulps of the exact quantile.
///
/// Used to re-derive the NF4 levels (`QuantFormat.nf4`) from first principles in the tests,
/// and available to analysis code that needs normal quantiles.
public enum NormalQuantile {
    // Acklam's published coefficients.
    private static let a: (Double, Double, Double, Double, Double, Double) = (
        -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
        1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00)
    private static let b: (Double, Double, Double, Double, Double) = (
        -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
        6.680131188771972e+01, -1.328068155288572e+01)
    private static let c: (Double, Double, Double, Double, Double, Double) = (
        -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
        -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00)
    private static let d: (Double, Double, Double, Double) = (
        7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
        3.754408661907416e+00)
    /// Boundary between the central and tail approximations.
    private static let pLow = 0.02425

    /// Φ⁻¹(p) for p in (0, 1); −∞ at 0 and +∞ at 1.
    public static func inverseCDF(_ p: Double) -> Double {
        precondition(p >= 0 && p <= 1, "NormalQuantile.inverseCDF: p = \(p) is outside [0, 1]")
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        var x: Double
        if p < pLow {
            x = tail(sqrt(-2 * log(p)))
        } else if p <= 1 - pLow {
            let q = p - 0.5
            let r = q * q
            let num = (((((a.0 * r + a.1) * r + a.2) * r + a.3) * r + a.4) * r + a.5) * q
            let den = ((((b.0 * r + b.1) * r + b.2) * r + b.3) * r + b.4) * r + 1
            x = num / den
        } else {
            x = -tail(sqrt(-2 * log1p(-p)))
        }
        // One Halley step on f(x) = Φ(x) − p, with Φ(x) = ½·erfc(−x/√2) and f′ = φ(x).
        let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= u / (1 + x * u / 2)
        return x
    }

    /// Lower-tail rational function of q = √(−2 ln p).
    private static func tail(_ q: Double) -> Double {
        let num = ((((c.0 * q + c.1) * q + c.2) * q + c.3) * q + c.4) * q + c.5
        let den = (((d.0 * q + d.1) * q + d.2) * q + d.3) * q + 1
        return num / den
    }
}
