import PEFTEngine

extension SVD {
    /// Plain-loop reference for `singularValues(of:)`: one-sided Jacobi in Float64
    /// (Hestenes 1958; Demmel & Veselić 1992), descending.
    ///
    /// Works on the columns of B = A (or Aᵀ when m < n, so B has at least as many rows as
    /// columns). Each pair of columns (p, q) with α = ‖b_p‖², β = ‖b_q‖², γ = b_p·b_q is rotated
    /// by the Jacobi angle: ζ = (β − α) / 2γ, t = sign(ζ) / (|ζ| + √(1 + ζ²)), c = 1/√(1 + t²),
    /// s = c·t, b_p ← c·b_p − s·b_q, b_q ← s·b_p + c·b_q. Sweeps repeat until every pair is
    /// orthogonal to `relativeTolerance`; the singular values are then the column norms.
    /// O(sweeps · m · n²): for tests on small matrices, not for production use.
    public static func referenceSingularValues(
        of t: Tensor, relativeTolerance: Double = 1e-13, maxSweeps: Int = 60
    ) -> [Float] {
        precondition(t.rank == 2, "SVD.referenceSingularValues: needs a rank-2 tensor, got \(t.shape)")
        let transpose = t.shape[0] < t.shape[1]
        let rows = transpose ? t.shape[1] : t.shape[0]   // R ≥ C
        let cols = transpose ? t.shape[0] : t.shape[1]
        // b: column-major R×C so that each column is contiguous.
        var b = [Double](repeating: 0, count: rows * cols)
        for i in 0..<t.shape[0] {
            for j in 0..<t.shape[1] {
                let value = Double(t[i, j])
                if transpose { b[i * rows + j] = value } else { b[j * rows + i] = value }
            }
        }
        b.withUnsafeMutableBufferPointer { b in
            for _ in 0..<maxSweeps {
                var rotated = false
                for p in 0..<cols {
                    for q in (p + 1)..<max(p + 1, cols) {
                        var alpha = 0.0, beta = 0.0, gamma = 0.0
                        for r in 0..<rows {
                            let x = b[p * rows + r], y = b[q * rows + r]
                            alpha += x * x; beta += y * y; gamma += x * y
                        }
                        if gamma == 0 || abs(gamma) <= relativeTolerance * (alpha * beta).squareRoot() {
                            continue
                        }
                        rotated = true
                        let zeta = (beta - alpha) / (2 * gamma)
                        let tangent = (zeta >= 0 ? 1.0 : -1.0) / (abs(zeta) + (1 + zeta * zeta).squareRoot())
                        let c = 1 / (1 + tangent * tangent).squareRoot()
                        let s = c * tangent
                        for r in 0..<rows {
                            let x = b[p * rows + r], y = b[q * rows + r]
                            b[p * rows + r] = c * x - s * y
                            b[q * rows + r] = s * x + c * y
                        }
                    }
                }
                if !rotated { break }
            }
        }
        var values = [Float](repeating: 0, count: cols)
        for j in 0..<cols {
            var norm2 = 0.0
            for r in 0..<rows { norm2 += b[j * rows + r] * b[j * rows + r] }
            values[j] = Float(norm2.squareRoot())
        }
        return values.sorted(by: >)
    }
}
