import PEFTEngine

/// Which singular vectors of an m×n matrix M = U·diag(σ)·Vᵀ span the subspace in question:
/// the left ones (columns of U, in ℝᵐ, the column space of M) or the right ones (columns of V,
/// in ℝⁿ, the row space of M).
public enum SingularSide: Sendable, Equatable {
    case left
    case right
}

/// Orthonormal bases of subspaces, as m×r tensors whose columns are the basis vectors: the
/// currency of the subspace measures (`SubspaceSimilarity`, `PrincipalAngles`,
/// `AmplificationFactor`, `IntruderDimensions`).
public enum SingularSubspace {
    /// The r leading singular vectors of `t` (exact thin SVD through `SVD.decompose`) as columns:
    /// U[:, 0..<r] (m×r) for `.left`, V[:, 0..<r] = (Vᵀ[0..<r, :])ᵀ (n×r) for `.right`.
    /// Singular vectors are unique only up to sign (and rotation within a repeated singular
    /// value): the measures built on them depend on the subspace, not the basis.
    ///
    /// - Precondition: 1 ≤ r ≤ min(m, n).
    /// - Throws: `SVDError` for non-finite input or a LAPACK failure.
    public static func top(_ r: Int, of t: Tensor, side: SingularSide = .left) throws -> Tensor {
        precondition(t.rank == 2, "SingularSubspace.top: needs a rank-2 tensor, got shape \(t.shape)")
        let smaller = min(t.shape[0], t.shape[1])
        precondition(
            r >= 1 && r <= smaller,
            "SingularSubspace.top: r = \(r) outside 1…\(smaller) for a \(t.shape[0])×\(t.shape[1]) matrix")
        let (u, _, vt) = try SVD.decompose(t, mode: .thin)
        switch side {
        case .left: return u.columns(in: 0..<r)
        case .right: return vt.rows(in: 0..<r).transposed()
        }
    }

    /// An orthonormal basis (m×r) of a uniformly random r-dimensional subspace of ℝᵐ: the Q
    /// factor (LAPACK `sgeqrf` + `sorgqr`) of an m×r matrix of independent N(0, 1) entries
    /// drawn from `rng` (drawn as its r×m transpose, row-major). The span of a Gaussian matrix
    /// is Haar-distributed on the Grassmannian.
    ///
    /// - Precondition: 1 ≤ r ≤ m.
    static func random(dimension m: Int, rank r: Int, rng: inout SeededRNG) throws -> Tensor {
        precondition(r >= 1 && r <= m, "SingularSubspace.random: rank \(r) outside 1…\(m)")
        var transposedBasis = Tensor.normal([r, m], rng: &rng)   // = m×r column-major
        try transposedBasis.storage.withUnsafeMutableBufferPointer { buffer in
            try LAPACK.orthonormalizeColumns(m: m, n: r, a: buffer.baseAddress!)
        }
        return transposedBasis.transposed()
    }
}
