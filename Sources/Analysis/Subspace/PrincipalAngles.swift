import Foundation
import PEFTEngine

/// Principal angles between the column spaces of two orthonormal bases Q_A (m×r_A) and
/// Q_B (m×r_B) (Björck & Golub, "Numerical Methods for Computing Angles Between Linear
/// Subspaces", Math. Comp. 27(123), 1973):
///
///     cos θₖ = σₖ(Q_Aᵀ·Q_B),   0 ≤ θ₁ ≤ θ₂ ≤ … ≤ θ_r ≤ π/2,   r = min(r_A, r_B).
///
/// θ = 0 marks a shared direction, θ = π/2 an orthogonal one. Between the updates of successive
/// tasks, small angles mean the second task writes into the directions the first one used
/// ("interference").
///
/// Accuracy: arccos is flat near cos = 1, so from cosines alone angles below about
/// √(2·ε_float) ≈ 5·10⁻⁴ rad are lost in Float32. Following Knyazev & Argentati (SIAM J. Sci.
/// Comput. 23(6), 2002), angles below π/4 are taken from sines instead: with Y the basis with
/// fewer columns and X the other, sin θₖ are the singular values of (I − X·Xᵀ)·Y = Y − X·(XᵀY),
/// ascending in the same order as the angles. Angles ≥ π/4 come from the cosines. Both are
/// clamped to [0, 1] before the inverse function, so θ ∈ [0, π/2].
public enum PrincipalAngles {
    /// The r = min(r_A, r_B) principal angles in radians, ascending. Inputs must have the same
    /// number of rows m ≥ max(r_A, r_B) and orthonormal columns (not checked).
    ///
    /// - Throws: `SVDError` for non-finite input or a LAPACK failure.
    public static func between(_ qa: Tensor, _ qb: Tensor) throws -> [Double] {
        precondition(
            qa.rank == 2 && qb.rank == 2 && qa.shape[0] == qb.shape[0],
            "PrincipalAngles.between: bases must be m×r_A and m×r_B, got \(qa.shape) and \(qb.shape)")
        precondition(
            qa.shape[1] >= 1 && qb.shape[1] >= 1 && qa.shape[0] >= max(qa.shape[1], qb.shape[1]),
            "PrincipalAngles.between: need 1 ≤ r ≤ m, got \(qa.shape) and \(qb.shape)")
        let (x, y) = qa.shape[1] >= qb.shape[1] ? (qa, qb) : (qb, qa)
        let r = y.shape[1]
        let overlap = Tensor.matmul(x, y, transposeA: true)            // XᵀY, r_X × r
        let cosines = try SVD.singularValues(of: overlap)               // r values, descending
        var rejected = y                                                // Y − X·(XᵀY), m × r
        x.storage.withUnsafeBufferPointer { xBuf in
            overlap.storage.withUnsafeBufferPointer { oBuf in
                rejected.storage.withUnsafeMutableBufferPointer { out in
                    BLAS.sgemm(
                        transA: false, transB: false, m: x.shape[0], n: r, k: x.shape[1],
                        alpha: -1, a: xBuf.baseAddress!, lda: x.shape[1], b: oBuf.baseAddress!, ldb: r,
                        beta: 1, c: out.baseAddress!, ldc: r)
                }
            }
        }
        let sines = try SVD.singularValues(of: rejected)                // r values, descending
        var angles = [Double](repeating: 0, count: r)
        for k in 0..<r {
            let c = min(max(Double(cosines[k]), 0), 1)
            let s = min(max(Double(sines[r - 1 - k]), 0), 1)
            angles[k] = c * c > 0.5 ? asin(s) : acos(c)
        }
        return angles.sorted()   // the two formulas meet at π/4; sorting guards a last-bit inversion
    }

    /// Principal angles between the spans of the leading `rank` singular vectors of two
    /// matrices of the same shape (`SingularSubspace.top`), e.g. the ΔW of two successive tasks.
    ///
    /// - Throws: `SVDError` for non-finite input or a LAPACK failure.
    public static func betweenTopSingularVectors(
        of a: Tensor, _ b: Tensor, rank: Int, side: SingularSide = .left
    ) throws -> [Double] {
        try between(
            SingularSubspace.top(rank, of: a, side: side), SingularSubspace.top(rank, of: b, side: side))
    }

    /// The algorithmic reference: θₖ = arccos σₖ(Q_AᵀQ_B) with the product in plain Double loops
    /// and σ from the one-sided Jacobi reference (`SVD.referenceSingularValues`), ascending.
    public static func betweenReference(_ qa: Tensor, _ qb: Tensor) -> [Double] {
        precondition(
            qa.rank == 2 && qb.rank == 2 && qa.shape[0] == qb.shape[0],
            "PrincipalAngles.betweenReference: bases must be m×r_A and m×r_B, got \(qa.shape) and \(qb.shape)")
        let overlap = Tensor.matmulReference(qa, qb, transposeA: true)
        return SVD.referenceSingularValues(of: overlap)
            .map { acos(min(max(Double($0), 0), 1)) }
            .sorted()
    }
}
