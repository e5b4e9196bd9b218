import CLAPACKE

/// The one door to LAPACKE. No other file imports `CLAPACKE`; nothing C-typed leaves this file.
///
/// Layout: LAPACK is column-major. A row-major m×n matrix A, read column-major, *is* Aᵀ (n×m,
/// leading dimension n), so this wrapper hands the row-major storage to LAPACK unchanged as Aᵀ
/// (`LAPACK_COL_MAJOR`, no transposition, no extra copy by LAPACKE). From Aᵀ = U′ Σ V′ᵀ follows
/// A = V′ Σ U′ᵀ, and the column-major buffers LAPACK fills are exactly the row-major factors of A:
/// LAPACK's `vt` (k_v×m, ld k_v) read row-major is U_A (m×k_v); LAPACK's `u` (n×k_u, ld n) read
/// row-major is V_Aᵀ (k_u×n). See `sgesdd` for the argument mapping.
enum LAPACK {
    /// What `sgesdd` computes besides the singular values (LAPACK's JOBZ).
    enum SingularVectors {
        /// JOBZ = 'N': values only.
        case none
        /// JOBZ = 'S': the min(m,n) leading left and right singular vectors.
        case thin
        /// JOBZ = 'A': all m left and all n right singular vectors.
        case full

        var jobz: CChar {
            switch self {
            case .none: return CChar(UInt8(ascii: "N"))
            case .thin: return CChar(UInt8(ascii: "S"))
            case .full: return CChar(UInt8(ascii: "A"))
            }
        }
    }

    /// Singular value decomposition A = U · diag(s) · Vᵀ by divide and conquer (LAPACK `sgesdd`).
    ///
    /// - Parameters:
    ///   - a: the m×n matrix, row-major, `m*n` elements. **Overwritten** (sgesdd destroys its
    ///     input): pass a copy.
    ///   - s: receives min(m,n) singular values, descending.
    ///   - u: receives U row-major, m×m (`.full`) or m×min(m,n) (`.thin`); unused for `.none`.
    ///   - vt: receives Vᵀ row-major, n×n (`.full`) or min(m,n)×n (`.thin`); unused for `.none`.
    /// - Throws: `SVDError.illegalArgument` (INFO < 0) or `SVDError.didNotConverge` (INFO > 0).
    ///
    /// Runs the workspace query (LWORK = −1) first, then the computation with exactly that
    /// workspace. Dimensions must be ≥ 1 and fit LAPACK's 32-bit integers (precondition).
    static func sgesdd(
        vectors: SingularVectors, m: Int, n: Int,
        a: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>,
        u: UnsafeMutablePointer<Float>, vt: UnsafeMutablePointer<Float>
    ) throws(SVDError) {
        precondition(m >= 1 && n >= 1, "sgesdd: empty matrix \(m)×\(n) (handle before calling)")
        let (elements, overflow) = m.multipliedReportingOverflow(by: n)
        precondition(
            !overflow && elements <= Int(Int32.max),
            "sgesdd: \(m)×\(n) exceeds LAPACK's 32-bit indexing")
        let k = min(m, n)
        // LAPACK sees Aᵀ: rows n, columns m, leading dimension n.
        let rowsT = Int32(n), colsT = Int32(m), ldaT = Int32(n)
        // LAPACK's U (of Aᵀ) has n rows → our Vᵀ; its Vᵀ (of Aᵀ) has m columns → our U.
        let lapackU = vt, lapackVT = u
        let ldu = Int32(n)
        let ldvt: Int32
        switch vectors {
        case .none: ldvt = 1
        case .thin: ldvt = Int32(k)
        case .full: ldvt = Int32(m)
        }
        var iwork = [Int32](repeating: 0, count: 8 * k)

        // Workspace query: LWORK = −1 writes the optimal size into work[0].
        var optimal: Float = 0
        let queryInfo = iwork.withUnsafeMutableBufferPointer { iw in
            LAPACKE_sgesdd_work(
                LAPACK_COL_MAJOR, vectors.jobz, rowsT, colsT, a, ldaT, s,
                lapackU, ldu, lapackVT, ldvt, &optimal, -1, iw.baseAddress)
        }
        try check(info: queryInfo, call: "LAPACKE_sgesdd_work (workspace query)", m: m, n: n)

        // work[0] is a Float: above 2²⁴ it may round down, so round the size up by a hair.
        let lwork = max(1, Int((Double(optimal) * (1 + 1e-6)).rounded(.up)))
        precondition(lwork <= Int(Int32.max), "sgesdd: workspace \(lwork) exceeds 32-bit LWORK")
        var work = [Float](repeating: 0, count: lwork)
        let info = work.withUnsafeMutableBufferPointer { w in
            iwork.withUnsafeMutableBufferPointer { iw in
                LAPACKE_sgesdd_work(
                    LAPACK_COL_MAJOR, vectors.jobz, rowsT, colsT, a, ldaT, s,
                    lapackU, ldu, lapackVT, ldvt, w.baseAddress, Int32(lwork), iw.baseAddress)
            }
        }
        try check(info: info, call: "LAPACKE_sgesdd_work", m: m, n: n)
    }

    /// The Q factor of a thin QR factorisation A = Q·R, written over A (LAPACK `sgeqrf`, then
    /// `sorgqr` to form Q explicitly from the Householder reflectors).
    ///
    /// - Parameters:
    ///   - m, n: A is m×n with m ≥ n ≥ 1.
    ///   - a: A stored **column-major** (leading dimension m), which is the row-major storage of
    ///     Aᵀ (n×m): callers that hold the transpose hand it over unchanged. On return it holds Q
    ///     (m×n, orthonormal columns) in the same layout, i.e. the row-major storage of Qᵀ.
    /// - Throws: `SVDError.illegalArgument` (INFO < 0; these routines report nothing else).
    ///
    /// Each routine runs its workspace query (LWORK = −1) first, then the computation with that
    /// workspace. Q is unique up to the signs of its columns; LAPACK's choice is deterministic.
    static func orthonormalizeColumns(m: Int, n: Int, a: UnsafeMutablePointer<Float>) throws(SVDError) {
        precondition(n >= 1 && m >= n, "orthonormalizeColumns: needs m ≥ n ≥ 1, got \(m)×\(n)")
        let (elements, overflow) = m.multipliedReportingOverflow(by: n)
        precondition(
            !overflow && elements <= Int(Int32.max),
            "orthonormalizeColumns: \(m)×\(n) exceeds LAPACK's 32-bit indexing")
        let rows = Int32(m), cols = Int32(n), lda = Int32(m)
        var tau = [Float](repeating: 0, count: n)

        // sgeqrf: R in the upper triangle, Householder vectors below it, scalars in tau.
        var optimal: Float = 0
        let queryInfo = LAPACKE_sgeqrf_work(LAPACK_COL_MAJOR, rows, cols, a, lda, &tau, &optimal, -1)
        try check(info: queryInfo, call: "LAPACKE_sgeqrf_work (workspace query)", m: m, n: n)
        var work = [Float](repeating: 0, count: workspaceSize(optimal))
        let qrInfo = tau.withUnsafeMutableBufferPointer { t in
            work.withUnsafeMutableBufferPointer { w in
                LAPACKE_sgeqrf_work(
                    LAPACK_COL_MAJOR, rows, cols, a, lda, t.baseAddress, w.baseAddress, Int32(w.count))
            }
        }
        try check(info: qrInfo, call: "LAPACKE_sgeqrf_work", m: m, n: n)

        // sorgqr: Q = H₁·H₂·…·Hₙ applied to the first n columns of the identity.
        optimal = 0
        let orgQueryInfo = LAPACKE_sorgqr_work(
            LAPACK_COL_MAJOR, rows, cols, cols, a, lda, tau, &optimal, -1)
        try check(info: orgQueryInfo, call: "LAPACKE_sorgqr_work (workspace query)", m: m, n: n)
        work = [Float](repeating: 0, count: workspaceSize(optimal))
        let orgInfo = work.withUnsafeMutableBufferPointer { w in
            LAPACKE_sorgqr_work(
                LAPACK_COL_MAJOR, rows, cols, cols, a, lda, tau, w.baseAddress, Int32(w.count))
        }
        try check(info: orgInfo, call: "LAPACKE_sorgqr_work", m: m, n: n)
    }

    /// LWORK from a workspace query's work[0] (a Float: above 2²⁴ it may round down, so round
    /// the size up by a hair), at least 1.
    private static func workspaceSize(_ optimal: Float) -> Int {
        let lwork = max(1, Int((Double(optimal) * (1 + 1e-6)).rounded(.up)))
        precondition(lwork <= Int(Int32.max), "LAPACK workspace \(lwork) exceeds 32-bit LWORK")
        return lwork
    }

    /// Turns LAPACK's INFO into a Swift error: < 0 names the bad argument, > 0 means the
    /// bidiagonal divide-and-conquer did not converge.
    private static func check(info: Int32, call: String, m: Int, n: Int) throws(SVDError) {
        if info < 0 {
            throw .illegalArgument(call: call, position: Int(-info), rows: m, columns: n)
        }
        if info > 0 {
            throw .didNotConverge(call: call, info: Int(info), rows: m, columns: n)
        }
    }
}
