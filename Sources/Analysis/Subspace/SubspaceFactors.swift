import PEFTEngine

/// The thin SVD M = U·diag(σ)·Vᵀ of one stored matrix (a ΔW, a task's increment, or a base
/// weight W₀), computed once and shared by every subspace measure of `workbench subspace`.
///
/// Shapes for an m×n matrix, k = min(m, n): `u` m×k, `singularValues` k (descending), `vt` k×n.
public struct SubspaceFactors: Sendable {
    /// U, m×k, orthonormal columns.
    public let u: Tensor
    /// σ₁ ≥ … ≥ σ_k ≥ 0.
    public let singularValues: [Float]
    /// Vᵀ, k×n, orthonormal rows.
    public let vt: Tensor
    /// ‖M‖_F, squares summed in Double.
    public let frobeniusNorm: Double
    /// The number of non-negligible singular values, capped: #{i : σᵢ > `negligibleRelativeSingularValue`·σ₁},
    /// at most `maximumSubspaceRank`. 0 for the zero matrix.
    public let subspaceRank: Int

    /// σᵢ ≤ 10⁻⁴·σ₁ counts as negligible: well above the float32 rounding of a stored low-rank
    /// product B·A (≈ 10⁻⁷ relative), well below the spread of a real update's spectrum.
    public static let negligibleRelativeSingularValue = 1e-4
    /// The subspace rank is capped at 64 (the largest LoRA rank of Hu et al.'s §7.2 comparison),
    /// so a dense full-fine-tuning ΔW of a wide layer does not make the φ grid quadratic in the width.
    public static let maximumSubspaceRank = 64

    /// Decomposes `matrix` (rank 2) with `SVD.decompose` (thin).
    ///
    /// - Throws: `SVDError` for non-finite input or a LAPACK failure.
    public init(_ matrix: Tensor) throws {
        precondition(matrix.rank == 2, "SubspaceFactors: needs a matrix, got shape \(matrix.shape)")
        (u, singularValues, vt) = try SVD.decompose(matrix, mode: .thin, threading: .singleThreadWhenSmall)
        frobeniusNorm = Self.sumOfSquares(matrix.storage).squareRoot()
        subspaceRank = Self.subspaceRank(of: singularValues)
    }

    /// m, the number of rows of the matrix.
    public var rows: Int { u.shape[0] }
    /// n, the number of columns of the matrix.
    public var columns: Int { vt.shape[1] }

    /// The leading r left singular vectors, m×r.
    public func left(_ r: Int) -> Tensor {
        precondition(r >= 1 && r <= u.shape[1], "SubspaceFactors.left: r = \(r) outside 1…\(u.shape[1])")
        return u.columns(in: 0..<r)
    }

    /// The leading r right singular vectors, n×r.
    public func right(_ r: Int) -> Tensor {
        precondition(r >= 1 && r <= vt.shape[0], "SubspaceFactors.right: r = \(r) outside 1…\(vt.shape[0])")
        return vt.rows(in: 0..<r).transposed()
    }

    /// #{i : σᵢ > `negligibleRelativeSingularValue`·σ₁}, capped at `maximumSubspaceRank`.
    public static func subspaceRank(of values: [Float]) -> Int {
        guard let first = values.first, first > 0 else { return 0 }
        let threshold = negligibleRelativeSingularValue * Double(first)
        var count = 0
        for sigma in values where Double(sigma) > threshold { count += 1 }
        return min(count, maximumSubspaceRank)
    }

    /// Σ xᵢ² in Double.
    static func sumOfSquares(_ x: [Float]) -> Double {
        x.withUnsafeBufferPointer { x in
            var total = 0.0
            for value in x { total += Double(value) * Double(value) }
            return total
        }
    }
}
