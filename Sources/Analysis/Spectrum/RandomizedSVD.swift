import PEFTEngine

/// Randomized top-k singular value decomposition A ≈ U·diag(s)·Vᵀ of an m×n matrix.
///
/// Halko, Martinsson & Tropp, "Finding Structure with Randomness", SIAM Review 53(2), 2011:
/// Algorithm 4.4 (randomized subspace iteration) for the range, then Algorithm 5.1 (direct SVD).
/// With l = k + p (p = `oversampling`) and q = `powerIterations`:
/// 1. Ω ∈ ℝ^{n×l} with independent N(0, 1) entries from `SeededRNG(seed:)`, row-major draw order;
/// 2. Y₀ = A·Ω, Q₀ = qr(Y₀);
/// 3. for j = 1…q: Ỹⱼ = Aᵀ·Qⱼ₋₁, Q̃ⱼ = qr(Ỹⱼ); Yⱼ = A·Q̃ⱼ, Qⱼ = qr(Yⱼ)
///    (re-orthonormalising after every product keeps the small singular directions from being
///    lost to rounding, §4.5);
/// 4. B = Qᵀ·A (l×n), B = Ũ·diag(s)·Vᵀ by `SVD.decompose` (thin), U = Q·Ũ; keep the first k.
///
/// Every product is one BLAS sgemm (`Tensor.matmul`); every qr is LAPACK `sgeqrf` + `sorgqr`
/// (`LAPACK.orthonormalizeColumns`). The sketch is kept transposed (Qᵀ, l×m row-major), which
/// is exactly the column-major Q LAPACK wants, so no copy is made for the factorisations.
///
/// The error bound (Halko et al. Cor. 10.10) shrinks like (σ_{k+1}/σ_k)^{2q+1}: two power
/// iterations suffice for spectra that decay even slowly.
///
/// **Exact fallback**: when k + p ≥ min(m, n) the sketch would be no smaller than the matrix,
/// so `topK` returns the exact thin SVD (`SVD.decompose`) truncated to k, and says so in
/// `Result.isExact`. k > min(m, n) is clamped to min(m, n).
///
/// **Determinism**: the same input, seed, parameters, OpenBLAS kernel and thread count give
/// bit-identical results (the RNG is platform-independent; BLAS/LAPACK are deterministic per
/// kernel and thread count).
public enum RandomizedSVD {
    /// The truncated factorisation and how well it represents A.
    public struct Result: Sendable, Equatable {
        /// Left singular vectors, m×k, orthonormal columns.
        public let u: Tensor
        /// The k leading singular value estimates, descending.
        public let s: [Float]
        /// Right singular vectors transposed, k×n, orthonormal rows.
        public let vt: Tensor
        /// ‖A‖²_F = Σᵢⱼ aᵢⱼ² of the input, squares summed in Double.
        public let frobeniusNormSquared: Double
        /// ‖A − U·diag(s)·Vᵀ‖_F / ‖A‖_F (0 for A = 0). The residual matrix is formed explicitly
        /// — one sgemm C ← A − (U·diag(s))·Vᵀ (beta = 1) — and its squares are summed in Double,
        /// so it is exact up to Float32 rounding of that product. The shortcut
        /// ‖A‖²_F − Σsᵢ² (valid because U·diag(s)·Vᵀ = UUᵀA is an orthogonal projection of A)
        /// is not used: it cancels catastrophically when the residual is small.
        /// By Eckart–Young, residual² ≥ Σ_{i>k} σᵢ(A)²: its square times ‖A‖²_F is an upper
        /// bound on the true tail energy.
        public let residualFrobeniusRelative: Double
        /// An estimate of σ_{k+1}(A): the (k+1)-th singular value of B = QᵀA, a **lower bound**
        /// on σ_{k+1}(A) since σᵢ(QᵀA) ≤ σᵢ(A) for Q with orthonormal columns. Exact on the
        /// fallback path. `nil` when there is no (k+1)-th value (p = 0, or k = min(m, n)).
        public let estimatedNextSingularValue: Float?
        /// True when the exact thin SVD was used (k + p ≥ min(m, n)).
        public let isExact: Bool
        /// Columns of the sketch, l = k + p (min(m, n) on the exact path).
        public let sketchSize: Int

        /// Number of singular triplets returned (k, clamped to min(m, n)).
        public var rank: Int { s.count }
    }

    /// The top-k singular triplets of `a` (rank 2, m, n ≥ 1). See the type's comment.
    ///
    /// - Parameters:
    ///   - k: triplets wanted, ≥ 1 (clamped to min(m, n)).
    ///   - oversampling: p ≥ 0 extra sketch columns (Halko et al. recommend 5–10).
    ///   - powerIterations: q ≥ 0 subspace iterations.
    ///   - seed: seeds the Gaussian test matrix Ω.
    /// - Throws: `SVDError` for non-finite input or a LAPACK failure.
    public static func topK(
        _ a: Tensor, k: Int, oversampling: Int = 10, powerIterations: Int = 2, seed: UInt64 = 0
    ) throws -> Result {
        precondition(a.rank == 2, "RandomizedSVD.topK: needs a rank-2 tensor, got shape \(a.shape)")
        let m = a.shape[0], n = a.shape[1]
        precondition(m >= 1 && n >= 1, "RandomizedSVD.topK: empty matrix \(m)×\(n)")
        precondition(k >= 1, "RandomizedSVD.topK: k must be ≥ 1, got \(k)")
        precondition(oversampling >= 0, "RandomizedSVD.topK: oversampling must be ≥ 0, got \(oversampling)")
        precondition(powerIterations >= 0, "RandomizedSVD.topK: powerIterations must be ≥ 0, got \(powerIterations)")
        try requireFinite(a)
        let smaller = min(m, n)
        let rank = min(k, smaller)
        let normSquared = sumOfSquares(a.storage)
        // The sketches multiply A in float32: with ‖A‖_F near Float32's limit they would overflow.
        guard normSquared.squareRoot() < Double(Float.greatestFiniteMagnitude) / 1024 else {
            throw SVDError.outOfRange(rows: m, columns: n, largestEntry: a.storage.map { abs($0) }.max() ?? 0)
        }

        if k + oversampling >= smaller {
            let (u, s, vt) = try SVD.decompose(a, mode: .thin)
            let uk = u.columns(in: 0..<rank), sk = Array(s[0..<rank]), vtk = vt.rows(in: 0..<rank)
            return Result(
                u: uk, s: sk, vt: vtk, frobeniusNormSquared: normSquared,
                residualFrobeniusRelative: relativeResidual(a, u: uk, s: sk, vt: vtk, normSquared: normSquared),
                estimatedNextSingularValue: rank < s.count ? s[rank] : nil,
                isExact: true, sketchSize: smaller)
        }

        let l = k + oversampling   // < min(m, n): every QR below is of a tall matrix
        var rng = SeededRNG(seed: seed)
        let omega = Tensor.normal([n, l], rng: &rng)
        // qt holds Qᵀ (l×m row-major) = Q column-major. Yᵀ = (AΩ)ᵀ = ΩᵀAᵀ.
        var qt = Tensor.matmul(omega, a, transposeA: true, transposeB: true)
        try orthonormalizeTransposed(&qt)
        for _ in 0..<powerIterations {
            var zt = Tensor.matmul(qt, a)                        // Ỹᵀ = (AᵀQ)ᵀ = QᵀA, l×n
            try orthonormalizeTransposed(&zt)                    // Q̃ᵀ
            qt = Tensor.matmul(zt, a, transposeB: true)          // Yᵀ = (AQ̃)ᵀ = Q̃ᵀAᵀ, l×m
            try orthonormalizeTransposed(&qt)
        }
        let b = Tensor.matmul(qt, a)                             // B = QᵀA, l×n
        let (ub, sb, vtb) = try SVD.decompose(b, mode: .thin)   // Ũ l×l, s l, Vᵀ l×n
        let u = Tensor.matmul(qt, ub.columns(in: 0..<k), transposeA: true)   // Q·Ũₖ, m×k
        let s = Array(sb[0..<k]), vt = vtb.rows(in: 0..<k)
        return Result(
            u: u, s: s, vt: vt, frobeniusNormSquared: normSquared,
            residualFrobeniusRelative: relativeResidual(a, u: u, s: s, vt: vt, normSquared: normSquared),
            estimatedNextSingularValue: k < sb.count ? sb[k] : nil,
            isExact: false, sketchSize: l)
    }

    // MARK: - Helpers

    /// Replaces the rows of `t` (l×d row-major, l ≤ d) by an orthonormal basis of their span:
    /// t is the column-major storage of the d×l matrix being factorised.
    private static func orthonormalizeTransposed(_ t: inout Tensor) throws {
        let l = t.shape[0], d = t.shape[1]
        try t.storage.withUnsafeMutableBufferPointer { buffer in
            try LAPACK.orthonormalizeColumns(m: d, n: l, a: buffer.baseAddress!)
        }
    }

    /// ‖A − U·diag(s)·Vᵀ‖_F / ‖A‖_F: the residual formed by one sgemm, squares summed in Double.
    static func relativeResidual(_ a: Tensor, u: Tensor, s: [Float], vt: Tensor, normSquared: Double) -> Double {
        if normSquared == 0 { return 0 }
        let m = a.shape[0], n = a.shape[1], k = s.count
        var us = u   // U·diag(s), m×k
        us.storage.withUnsafeMutableBufferPointer { x in
            for i in 0..<m {
                for j in 0..<k { x[i * k + j] *= s[j] }
            }
        }
        var residual = a.storage
        if k > 0 {
            us.storage.withUnsafeBufferPointer { usBuf in
                vt.storage.withUnsafeBufferPointer { vtBuf in
                    residual.withUnsafeMutableBufferPointer { r in
                        BLAS.sgemm(
                            transA: false, transB: false, m: m, n: n, k: k,
                            alpha: -1, a: usBuf.baseAddress!, lda: k, b: vtBuf.baseAddress!, ldb: n,
                            beta: 1, c: r.baseAddress!, ldc: n)
                    }
                }
            }
        }
        return (sumOfSquares(residual) / normSquared).squareRoot()
    }

    /// Σ xᵢ², accumulated in Double.
    static func sumOfSquares(_ x: [Float]) -> Double {
        x.withUnsafeBufferPointer { x in
            var acc = 0.0
            for i in 0..<x.count {
                let v = Double(x[i])
                acc += v * v
            }
            return acc
        }
    }

    /// Throws for the first NaN or ±∞ in row-major order, naming the input's shape.
    private static func requireFinite(_ a: Tensor) throws {
        let columns = a.shape[1]
        let bad: Int? = a.storage.withUnsafeBufferPointer { x in
            for i in 0..<x.count where !x[i].isFinite { return i }
            return nil
        }
        if let bad {
            throw SVDError.nonFiniteInput(
                row: bad / columns, column: bad % columns, value: a.storage[bad],
                rows: a.shape[0], columns: columns)
        }
    }
}
