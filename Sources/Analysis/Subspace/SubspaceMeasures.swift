import Foundation
import PEFTEngine

/// The subspace measures of `workbench subspace`, computed from `SubspaceFactors` so that each
/// stored matrix is decomposed once. Each one gives the same values as the Analysis function it
/// names (up to float rounding), which recomputes the SVDs on every call.
public enum SubspaceMeasures {
    // MARK: Similarity (Hu et al. 2021, §7.2)

    /// The φ grid between the left singular subspaces of two matrices with the same row count,
    /// each of its own `subspaceRank`: `SubspaceSimilarity.grid(U_A[:, :r_A], U_B[:, :r_B])`.
    /// nil when either matrix is zero (no subspace).
    public static func similarity(_ a: SubspaceFactors, _ b: SubspaceFactors) -> SubspaceSimilarity.Grid? {
        precondition(a.rows == b.rows, "SubspaceMeasures.similarity: row counts \(a.rows) and \(b.rows) differ")
        guard a.subspaceRank > 0 && b.subspaceRank > 0 else { return nil }
        return SubspaceSimilarity.grid(a.left(a.subspaceRank), b.left(b.subspaceRank))
    }

    /// E[φ(A, B, i, j)] for independent uniformly random subspaces of ℝᵐ: E‖U_Aⁱᵀ U_Bʲ‖²_F = i·j/m,
    /// so φ = max(i, j)/m — the level a measured φ must exceed to mean shared directions.
    public static func randomPhi(i: Int, j: Int, dimension m: Int) -> Double {
        Double(max(i, j)) / Double(m)
    }

    /// The mean of `randomPhi` over the grid 1…r_A × 1…r_B.
    public static func randomPhiGridMean(rankA: Int, rankB: Int, dimension m: Int) -> Double {
        var total = 0.0
        for i in 1...rankA { for j in 1...rankB { total += randomPhi(i: i, j: j, dimension: m) } }
        return total / Double(rankA * rankB)
    }

    /// The mean of φ over the whole grid.
    public static func gridMean(_ grid: SubspaceSimilarity.Grid) -> Double {
        grid.values.reduce(0, +) / Double(grid.values.count)
    }

    // MARK: Interference between successive tasks

    /// Overlap of the top-r left singular subspaces of two task updates.
    public struct Interference: Sendable, Equatable {
        /// r = min(requested rank, both subspace ranks).
        public let rank: Int
        /// The r principal angles in radians, ascending (`PrincipalAngles.between`).
        public let angles: [Double]
        /// φ(r, r) = Σₖ cos²θₖ / r.
        public let phi: Double
    }

    /// Principal angles and φ(r, r) between the leading left singular vectors of two updates of
    /// the same shape; r = min(`rank`, `a.subspaceRank`, `b.subspaceRank`). nil when r = 0.
    ///
    /// - Throws: `SVDError` from the angles' small SVDs.
    public static func interference(_ a: SubspaceFactors, _ b: SubspaceFactors, rank: Int) throws -> Interference? {
        precondition(a.rows == b.rows, "SubspaceMeasures.interference: row counts \(a.rows) and \(b.rows) differ")
        let r = min(rank, a.subspaceRank, b.subspaceRank)
        guard r > 0 else { return nil }
        let ua = a.left(r), ub = b.left(r)
        return Interference(rank: r, angles: try PrincipalAngles.between(ua, ub),
                            phi: SubspaceSimilarity.phi(ua, ub, i: r, j: r))
    }

    /// The increment of task t from the stored ΔW (docs/hdf5-layout.md): ΔW_t − ΔW_{t−1} when
    /// the stored ΔW is cumulative (protocols `sequential`, `merge`; ΔW₀ = 0), ΔW_t itself when
    /// each task's ΔW is stored on its own (`per-task`).
    public static func increment(cumulative: Bool, current: Tensor, previous: Tensor?) -> Tensor {
        if !cumulative { return current }
        guard let previous else { return current }
        return current - previous
    }

    // MARK: Amplification (Hu et al. 2021, §7.3)

    /// `AmplificationFactor.compute` from cached factors (same definitions and random draws).
    ///
    /// - Throws: `SVDError` from the random bases' factorisations.
    public static func amplification(
        base w0: Tensor, baseFactors: SubspaceFactors, update: SubspaceFactors, rank r: Int,
        randomDraws: Int = 10, seed: UInt64 = 0
    ) throws -> AmplificationFactor {
        let m = w0.shape[0], n = w0.shape[1]
        precondition(update.rows == m && update.columns == n, "SubspaceMeasures.amplification: ΔW and W₀ shapes differ")
        precondition(r >= 1 && r <= min(m, n), "SubspaceMeasures.amplification: r = \(r) outside 1…\(min(m, n))")
        return try AmplificationFactor.compute(
            base: w0, baseSingularValues: baseFactors.singularValues, updateLeft: update.left(r), updateRight: update.right(r),
            updateNorm: update.frobeniusNorm, randomDraws: randomDraws, seed: seed)
    }

    // MARK: Intruder dimensions (Shuttleworth et al. 2024)

    /// The values of `IntruderDimensions` without its null statistic (see `intruderNull`).
    public struct Intruders: Sendable, Equatable {
        public let k: Int
        public let epsilon: Double
        /// maxⱼ |⟨uᵢ(W), u⁰ⱼ⟩| for i < k.
        public let maxAbsCosine: [Double]
        /// Indices i < k with max |cos| < ε.
        public let intruderIndices: [Int]
        /// Σ_{intruders} σᵢ(W)² / Σ_{i<k} σᵢ(W)².
        public let energyShare: Double
        public var count: Int { intruderIndices.count }
    }

    /// `IntruderDimensions.find` for W = W₀ + ΔW against W₀'s left singular vectors `baseFactors.u`
    /// (all min(m, n)), decomposing only W.
    ///
    /// - Throws: `SVDError` for non-finite input or a LAPACK failure.
    public static func intruders(baseFactors: SubspaceFactors, tuned w: Tensor, k: Int, epsilon: Double) throws -> Intruders {
        precondition(k >= 1 && k <= min(w.shape[0], w.shape[1]), "SubspaceMeasures.intruders: k = \(k) outside 1…\(min(w.shape[0], w.shape[1]))")
        precondition(epsilon > 0 && epsilon <= 1, "SubspaceMeasures.intruders: epsilon = \(epsilon) outside (0, 1]")
        let (uw, sw, _) = try SVD.decompose(w, mode: .thin, threading: .singleThreadWhenSmall)
        let top = IntruderDimensions.topVectors(baseLeftVectors: baseFactors.u, tunedLeftVectors: uw,
                                                tunedSingularValues: sw, k: k, epsilon: epsilon)
        return Intruders(k: k, epsilon: epsilon, maxAbsCosine: top.maxAbsCosine, intruderIndices: top.intruderIndices,
                         energyShare: top.energyShare)
    }
}
