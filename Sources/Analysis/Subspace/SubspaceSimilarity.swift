import PEFTEngine

/// Normalised subspace similarity of Hu et al., "LoRA: Low-Rank Adaptation of Large Language
/// Models" (2021), §7.2, Eq. (4):
///
///     φ(A, B, i, j) = ‖U_Aⁱᵀ · U_Bʲ‖²_F / min(i, j)  ∈ [0, 1],
///
/// where U_Aⁱ are the first i columns of an orthonormal basis U_A (m×r_A) and U_Bʲ the first j
/// columns of U_B (m×r_B). ‖U_Aⁱᵀ U_Bʲ‖²_F = Σₖ cos²θₖ over the principal angles θₖ between
/// the two spans, so φ = 1 when the smaller span lies inside the larger and 0 when they are
/// orthogonal. The paper takes the singular vectors of two LoRA matrices A (r×d) learned with
/// different ranks or seeds; `grid(updates:_:rankA:rankB:side:)` takes any two matrices (e.g.
/// two ΔW) and uses their leading left or right singular vectors.
///
/// Inputs are assumed to have orthonormal columns (not checked: for other inputs φ may leave
/// [0, 1]). Indices i, j are 1-based counts of columns, as in the paper.
public enum SubspaceSimilarity {
    /// φ(A, B, i, j) for every 1 ≤ i ≤ r_A, 1 ≤ j ≤ r_B.
    public struct Grid: Sendable, Equatable {
        /// r_A: columns of U_A (range of i).
        public let rankA: Int
        /// r_B: columns of U_B (range of j).
        public let rankB: Int
        /// Row-major r_A × r_B: `values[(i − 1)·r_B + (j − 1)]` = φ(i, j).
        public let values: [Double]

        /// φ(A, B, i, j) with 1-based i ≤ r_A, j ≤ r_B.
        public subscript(i: Int, j: Int) -> Double {
            precondition(
                i >= 1 && i <= rankA && j >= 1 && j <= rankB,
                "SubspaceSimilarity.Grid: (i, j) = (\(i), \(j)) outside 1…\(rankA) × 1…\(rankB)")
            return values[(i - 1) * rankB + (j - 1)]
        }
    }

    /// φ(A, B, i, j) for one pair: one sgemm of the column slices, squares summed in Double.
    public static func phi(_ ua: Tensor, _ ub: Tensor, i: Int, j: Int) -> Double {
        checkShapes(ua, ub, call: "phi")
        checkIndices(ua, ub, i: i, j: j, call: "phi")
        let overlap = Tensor.matmul(ua.columns(in: 0..<i), ub.columns(in: 0..<j), transposeA: true)
        return RandomizedSVD.sumOfSquares(overlap.storage) / Double(min(i, j))
    }

    /// The full grid from one sgemm M = U_Aᵀ·U_B (r_A×r_B) and a two-dimensional prefix sum of
    /// its squares: ‖U_Aⁱᵀ U_Bʲ‖²_F = Σ_{a<i, b<j} M²_ab. O(m·r_A·r_B) in all.
    public static func grid(_ ua: Tensor, _ ub: Tensor) -> Grid {
        checkShapes(ua, ub, call: "grid")
        let ra = ua.shape[1], rb = ub.shape[1]
        let overlap = Tensor.matmul(ua, ub, transposeA: true)   // r_A × r_B
        var values = [Double](repeating: 0, count: ra * rb)
        var prefix = [Double](repeating: 0, count: (ra + 1) * (rb + 1))   // P[a][b] = Σ over a×b corner
        overlap.storage.withUnsafeBufferPointer { m in
            prefix.withUnsafeMutableBufferPointer { p in
                values.withUnsafeMutableBufferPointer { phi in
                    let w = rb + 1
                    for a in 0..<ra {
                        for b in 0..<rb {   // corner (a + 1) × (b + 1) lives at p[(a + 1)·w + b + 1]
                            let x = Double(m[a * rb + b])
                            let corner = x * x + p[a * w + b + 1] + p[(a + 1) * w + b] - p[a * w + b]
                            p[(a + 1) * w + b + 1] = corner
                            phi[a * rb + b] = corner / Double(min(a, b) + 1)
                        }
                    }
                }
            }
        }
        return Grid(rankA: ra, rankB: rb, values: values)
    }

    /// The grid for two matrices of the same row count (`.left`) or column count (`.right`):
    /// U_A, U_B are their leading `rankA`, `rankB` singular vectors (`SingularSubspace.top`).
    ///
    /// - Throws: `SVDError` for non-finite input or a LAPACK failure.
    public static func grid(
        updates a: Tensor, _ b: Tensor, rankA: Int, rankB: Int, side: SingularSide = .left
    ) throws -> Grid {
        grid(try SingularSubspace.top(rankA, of: a, side: side), try SingularSubspace.top(rankB, of: b, side: side))
    }

    /// The algorithmic reference for `phi`: Σ over the i×j corner of (Σₗ u_A[l, a]·u_B[l, b])²
    /// in plain Double loops, divided by min(i, j).
    public static func phiReference(_ ua: Tensor, _ ub: Tensor, i: Int, j: Int) -> Double {
        checkShapes(ua, ub, call: "phiReference")
        checkIndices(ua, ub, i: i, j: j, call: "phiReference")
        var total = 0.0
        for a in 0..<i {
            for b in 0..<j {
                var dot = 0.0
                for l in 0..<ua.shape[0] { dot += Double(ua[l, a]) * Double(ub[l, b]) }
                total += dot * dot
            }
        }
        return total / Double(min(i, j))
    }

    private static func checkShapes(_ ua: Tensor, _ ub: Tensor, call: String) {
        precondition(
            ua.rank == 2 && ub.rank == 2 && ua.shape[0] == ub.shape[0],
            "SubspaceSimilarity.\(call): bases must be m×r_A and m×r_B, got \(ua.shape) and \(ub.shape)")
    }

    private static func checkIndices(_ ua: Tensor, _ ub: Tensor, i: Int, j: Int, call: String) {
        precondition(
            i >= 1 && i <= ua.shape[1] && j >= 1 && j <= ub.shape[1],
            "SubspaceSimilarity.\(call): (i, j) = (\(i), \(j)) outside 1…\(ua.shape[1]) × 1…\(ub.shape[1])")
    }
}
