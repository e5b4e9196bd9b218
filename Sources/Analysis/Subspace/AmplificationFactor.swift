import PEFTEngine

/// How strongly an update ΔW amplifies directions of the base weight W₀ (Hu et al., "LoRA:
/// Low-Rank Adaptation of Large Language Models", 2021, §7.3 and Table 7).
///
/// With U (m×r), V (n×r) the leading r left / right singular vectors of ΔW (m×n):
///
///     projected      = ‖Uᵀ·W₀·V‖_F            (how much of W₀ lives in ΔW's top subspace)
///     amplification  = ‖ΔW‖_F / ‖Uᵀ·W₀·V‖_F
///
/// The paper compares `projected` with two references of the same rank r:
/// - W₀'s own top-r subspace: U₀ᵀ·W₀·V₀ = diag(σ₁…σ_r(W₀)), so the value is
///   √(Σ_{i≤r} σᵢ(W₀)²), the largest any rank-r pair of orthonormal bases can reach (Ky Fan);
/// - random subspaces: U, V Haar-random orthonormal bases (`SingularSubspace.random`), the
///   value averaged over `randomDraws` independent pairs (default 10), seeded. Since
///   E[U·Uᵀ] = (r/m)·I, E‖Uᵀ·W₀·V‖²_F = r²/(m·n)·‖W₀‖²_F; the mean of the norm is at most
///   the square root of that (Jensen).
/// A projection far below the own-subspace value but above the random one means ΔW amplifies
/// directions that W₀ has but does not emphasise — the paper's finding for LoRA.
public struct AmplificationFactor: Sendable, Equatable {
    /// r: number of singular directions of ΔW used.
    public let rank: Int
    /// ‖ΔW‖_F, squares summed in Double.
    public let updateNorm: Double
    /// ‖Uᵀ·W₀·V‖_F with U, V from ΔW.
    public let projectedBaseNorm: Double
    /// ‖ΔW‖_F / ‖Uᵀ·W₀·V‖_F (+∞ when the projection is exactly zero and ΔW ≠ 0).
    public let amplification: Double
    /// ‖U₀ᵀ·W₀·V₀‖_F = √(Σ_{i≤r} σᵢ(W₀)²) for W₀'s own top-r singular vectors.
    public let projectedBaseNormOnOwnTopSubspace: Double
    /// Mean of ‖Uᵀ·W₀·V‖_F over `randomDraws` random orthonormal pairs (U m×r, V n×r).
    public let projectedBaseNormOnRandomSubspaces: Double
    /// Number of random pairs averaged.
    public let randomDraws: Int

    /// Computes every value above for base W₀ and update ΔW of the same shape m×n.
    ///
    /// - Parameters:
    ///   - rank: r, 1 ≤ r ≤ min(m, n).
    ///   - randomDraws: random pairs to average, ≥ 1 (default 10).
    ///   - seed: seeds the random bases; draw d uses `SeededRNG(seed:).fork("amplification-\(d)")`.
    /// - Throws: `SVDError` for non-finite input or a LAPACK failure.
    public static func compute(
        base w0: Tensor, update deltaW: Tensor, rank r: Int, randomDraws: Int = 10, seed: UInt64 = 0
    ) throws -> AmplificationFactor {
        precondition(
            w0.rank == 2 && w0.shape == deltaW.shape,
            "AmplificationFactor: W₀ \(w0.shape) and ΔW \(deltaW.shape) must be matrices of one shape")
        precondition(randomDraws >= 1, "AmplificationFactor: randomDraws must be ≥ 1, got \(randomDraws)")
        let u = try SingularSubspace.top(r, of: deltaW, side: .left)    // m×r
        let v = try SingularSubspace.top(r, of: deltaW, side: .right)   // n×r
        return try compute(base: w0, baseSingularValues: try SVD.singularValues(of: w0), updateLeft: u, updateRight: v,
                           updateNorm: RandomizedSVD.sumOfSquares(deltaW.storage).squareRoot(),
                           randomDraws: randomDraws, seed: seed)
    }

    /// The same values from factors already computed: W₀'s singular values, ΔW's top-r left
    /// (m×r) and right (n×r) singular vectors and ‖ΔW‖_F — for callers that decompose each
    /// matrix once and reuse it across measures.
    ///
    /// - Throws: `SVDError` from the random bases' QR factorisations.
    public static func compute(
        base w0: Tensor, baseSingularValues: [Float], updateLeft u: Tensor, updateRight v: Tensor,
        updateNorm: Double, randomDraws: Int = 10, seed: UInt64 = 0
    ) throws -> AmplificationFactor {
        let m = w0.shape[0], n = w0.shape[1], r = u.shape[1]
        precondition(u.shape == [m, r] && v.shape == [n, r] && r >= 1 && r <= baseSingularValues.count,
                     "AmplificationFactor: U \(u.shape), V \(v.shape) do not fit W₀ \(w0.shape)")
        precondition(randomDraws >= 1, "AmplificationFactor: randomDraws must be ≥ 1, got \(randomDraws)")
        let projected = projectedNorm(w0, u: u, v: v)
        var ownSquares = 0.0
        for i in 0..<r { ownSquares += Double(baseSingularValues[i]) * Double(baseSingularValues[i]) }

        let root = SeededRNG(seed: seed)
        var randomTotal = 0.0
        for d in 0..<randomDraws {
            var rng = root.fork("amplification-\(d)")
            let ur = try SingularSubspace.random(dimension: m, rank: r, rng: &rng)
            let vr = try SingularSubspace.random(dimension: n, rank: r, rng: &rng)
            randomTotal += projectedNorm(w0, u: ur, v: vr)
        }
        let amplification: Double
        if projected > 0 {
            amplification = updateNorm / projected
        } else {
            amplification = updateNorm == 0 ? 0 : .infinity
        }
        return AmplificationFactor(
            rank: r, updateNorm: updateNorm, projectedBaseNorm: projected, amplification: amplification,
            projectedBaseNormOnOwnTopSubspace: ownSquares.squareRoot(),
            projectedBaseNormOnRandomSubspaces: randomTotal / Double(randomDraws),
            randomDraws: randomDraws)
    }

    /// ‖Uᵀ·W·V‖_F: two sgemms (r×n, then r×r), squares summed in Double.
    static func projectedNorm(_ w: Tensor, u: Tensor, v: Tensor) -> Double {
        let left = Tensor.matmul(u, w, transposeA: true)   // r×n
        let core = Tensor.matmul(left, v)                  // r×r
        return RandomizedSVD.sumOfSquares(core.storage).squareRoot()
    }
}
