import PEFTEngine

/// A matrix's singular value decomposition, computed once and kept for repeated best rank-k
/// approximations (the rank sweep of `LowRankTest` asks each ΔW for several k).
///
/// Eckart–Young–Mirsky (Eckart & Young 1936; Mirsky 1960): with ΔW = U · diag(σ) · Vᵀ and
/// σ₁ ≥ σ₂ ≥ … ≥ 0, the rank-k matrix closest to ΔW in Frobenius (and spectral) norm is
///
///     trunc_k(ΔW) = Σ_{i ≤ k} σᵢ uᵢ vᵢᵀ,   ‖ΔW − trunc_k(ΔW)‖_F = sqrt(Σ_{i > k} σᵢ²).
///
/// The fraction of ΔW's energy kept at rank k is Σ_{i ≤ k} σᵢ² / Σᵢ σᵢ².
public struct RankTruncation: Sendable {
    /// U, shape [m, r] with r = min(m, n) (thin SVD).
    public let u: Tensor
    /// σ, descending, r values.
    public let singularValues: [Float]
    /// Vᵀ, shape [r, n].
    public let vt: Tensor
    /// [m, n] of the decomposed matrix.
    public let shape: [Int]

    /// Decomposes `matrix` (rank-2, finite) through `SVD.decompose` (LAPACK sgesdd, thin).
    ///
    /// - Throws: `SVDError` for non-finite entries or a LAPACK failure.
    public init(_ matrix: Tensor) throws {
        precondition(matrix.rank == 2, "RankTruncation: needs a rank-2 tensor, got shape \(matrix.shape)")
        let (u, s, vt) = try SVD.decompose(matrix, mode: .thin, threading: .singleThreadWhenSmall)
        self.u = u
        self.singularValues = s
        self.vt = vt
        self.shape = matrix.shape
    }

    /// min(m, n): the largest rank a truncation can keep.
    public var fullRank: Int { singularValues.count }

    /// trunc_k = U[:, :k] · diag(σ[:k]) · Vᵀ[:k, :], through one sgemm; k is clamped to
    /// `fullRank`, and k = 0 gives the zero matrix.
    public func approximation(rank k: Int) -> Tensor {
        precondition(k >= 0, "RankTruncation.approximation: rank must be ≥ 0, got \(k)")
        let k = min(k, fullRank)
        let (m, n) = (shape[0], shape[1])
        if k == 0 { return Tensor(shape: [m, n]) }
        var scaledU = u.columns(in: 0..<k)
        scaledU.storage.withUnsafeMutableBufferPointer { a in
            singularValues.withUnsafeBufferPointer { s in
                for i in 0..<m {
                    for j in 0..<k { a[i * k + j] *= s[j] }
                }
            }
        }
        return Tensor.matmul(scaledU, vt.rows(in: 0..<k))
    }

    /// The plain-loop reference for `approximation`: Σ_{p < k} σ_p · U[i, p] · Vᵀ[p, j],
    /// accumulated in Double.
    public func approximationReference(rank k: Int) -> Tensor {
        let k = min(k, fullRank)
        let (m, n, r) = (shape[0], shape[1], fullRank)
        var out = Tensor(shape: [m, n])
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += Double(singularValues[p]) * Double(u.storage[i * r + p]) * Double(vt.storage[p * n + j]) }
                out.storage[i * n + j] = Float(sum)
            }
        }
        return out
    }

    /// Σᵢ σᵢ² = ‖ΔW‖_F², in Double.
    public var totalEnergy: Double { singularValues.reduce(0) { $0 + Double($1) * Double($1) } }

    /// Σ_{i ≤ k} σᵢ² / Σᵢ σᵢ²; nil for the zero matrix (no energy to keep).
    public func energyKept(rank k: Int) -> Double? {
        let total = totalEnergy
        guard total > 0 else { return nil }
        let kept = singularValues.prefix(max(0, k)).reduce(0.0) { $0 + Double($1) * Double($1) }
        return kept / total
    }

    /// sqrt(Σ_{i > k} σᵢ²): the Frobenius error of the best rank-k approximation (Eckart–Young).
    public func tailNorm(rank k: Int) -> Double {
        singularValues.dropFirst(max(0, k)).reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
    }
}
