import PEFTEngine

/// Singular value decomposition of a rank-2 tensor, A = U · diag(s) · Vᵀ, through LAPACK's
/// divide-and-conquer driver `sgesdd` (Float32). Singular values come back descending.
///
/// The input is never modified (sgesdd destroys its argument, so it works on a copy).
/// Non-finite input is rejected before LAPACK sees it; LAPACK's INFO ≠ 0 becomes an `SVDError`.
/// A plain-loop reference (one-sided Jacobi) lives beside it in `SVD+Reference.swift`.
public enum SVD {
    /// Which singular vectors `decompose` returns for an m×n matrix, k = min(m, n).
    public enum Mode: Sendable, Equatable {
        /// U is m×k, Vᵀ is k×n (LAPACK JOBZ = 'S').
        case thin
        /// U is m×m, Vᵀ is n×n (LAPACK JOBZ = 'A').
        case full
    }

    /// How many OpenBLAS threads the decomposition runs on.
    ///
    /// OpenBLAS's thread count is **process-wide state**: any setting other than `.current`
    /// changes it for the duration of the call (and restores it afterwards), so BLAS calls made
    /// concurrently from other Swift threads run with it too.
    public enum Threading: Sendable, Equatable {
        /// Leave the thread count as it is.
        case current
        /// Run on exactly this many threads (≥ 1).
        case count(Int)
        /// One thread when max(m, n) ≤ `SVD.singleThreadMaxDimension`, else as it is.
        /// Measured on the project's 2-core Xeon: sgesdd at n ≤ 512 is slower on 2 threads
        /// than on 1 (n = 512, values only: 22 ms vs 29 ms); from n = 1024 on, 2 threads win.
        case singleThreadWhenSmall
    }

    /// Largest dimension at which `.singleThreadWhenSmall` drops to one thread.
    public static let singleThreadMaxDimension = 512

    /// The min(m, n) singular values of a rank-2 tensor, descending (LAPACK JOBZ = 'N').
    ///
    /// - Throws: `SVDError` for non-finite input or a LAPACK failure.
    public static func singularValues(of t: Tensor, threading: Threading = .current) throws -> [Float] {
        let (m, n) = matrixShape(t, call: "singularValues")
        try requireFinite(t)
        let k = min(m, n)
        if k == 0 { return [] }
        var a = copyOfStorage(t)
        var s = [Float](repeating: 0, count: k)
        var unusedU: Float = 0, unusedVT: Float = 0
        try withThreads(threading, m: m, n: n) {
            try a.withUnsafeMutableBufferPointer { a in
                try s.withUnsafeMutableBufferPointer { s in
                    try LAPACK.sgesdd(
                        vectors: .none, m: m, n: n, a: a.baseAddress!, s: s.baseAddress!,
                        u: &unusedU, vt: &unusedVT)
                }
            }
        }
        try requireFiniteResult(s, t)
        return s
    }

    /// Finite entries can still give σ₁ above Float32's range (entries near 3e38): an error
    /// naming the matrix, never an infinity handed on.
    private static func requireFiniteResult(_ s: [Float], _ t: Tensor) throws {
        guard s.allSatisfy(\.isFinite) else {
            throw SVDError.outOfRange(rows: t.shape[0], columns: t.shape[1],
                                      largestEntry: t.storage.map { abs($0) }.max() ?? 0)
        }
    }

    /// U, s and Vᵀ with A = U · diag(s) · Vᵀ; s descending, U and V with orthonormal columns.
    ///
    /// Shapes for an m×n input, k = min(m, n): `.thin` gives U m×k, s k, Vᵀ k×n; `.full` gives
    /// U m×m, s k, Vᵀ n×n. An empty matrix (m or n = 0) gives no values and, in `.full` mode,
    /// identity factors.
    /// - Throws: `SVDError` for non-finite input or a LAPACK failure.
    public static func decompose(
        _ t: Tensor, mode: Mode = .thin, threading: Threading = .current
    ) throws -> (u: Tensor, s: [Float], vt: Tensor) {
        let (m, n) = matrixShape(t, call: "decompose")
        try requireFinite(t)
        let k = min(m, n)
        let uColumns = mode == .full ? m : k
        let vtRows = mode == .full ? n : k
        if k == 0 {
            return (identity(rows: m, columns: uColumns), [], identity(rows: vtRows, columns: n))
        }
        var a = copyOfStorage(t)
        var s = [Float](repeating: 0, count: k)
        var u = [Float](repeating: 0, count: m * uColumns)
        var vt = [Float](repeating: 0, count: vtRows * n)
        try withThreads(threading, m: m, n: n) {
            try a.withUnsafeMutableBufferPointer { a in
                try s.withUnsafeMutableBufferPointer { s in
                    try u.withUnsafeMutableBufferPointer { u in
                        try vt.withUnsafeMutableBufferPointer { vt in
                            try LAPACK.sgesdd(
                                vectors: mode == .full ? .full : .thin, m: m, n: n,
                                a: a.baseAddress!, s: s.baseAddress!,
                                u: u.baseAddress!, vt: vt.baseAddress!)
                        }
                    }
                }
            }
        }
        try requireFiniteResult(s, t)
        return (Tensor(shape: [m, uColumns], storage: u), s, Tensor(shape: [vtRows, n], storage: vt))
    }

    // MARK: - Helpers

    private static func matrixShape(_ t: Tensor, call: String) -> (Int, Int) {
        precondition(t.rank == 2, "SVD.\(call): needs a rank-2 tensor, got shape \(t.shape)")
        return (t.shape[0], t.shape[1])
    }

    /// Throws for the first NaN or ±∞ in row-major order.
    private static func requireFinite(_ t: Tensor) throws {
        let columns = t.shape[1]
        let bad: Int? = t.storage.withUnsafeBufferPointer { a in
            for i in 0..<a.count where !a[i].isFinite { return i }
            return nil
        }
        if let bad {
            throw SVDError.nonFiniteInput(
                row: bad / columns, column: bad % columns, value: t.storage[bad],
                rows: t.shape[0], columns: columns)
        }
    }

    /// A fresh buffer (not shared with the caller's tensor) for sgesdd to destroy.
    private static func copyOfStorage(_ t: Tensor) -> [Float] {
        [Float](unsafeUninitializedCapacity: t.count) { buffer, initialized in
            _ = buffer.initialize(fromContentsOf: t.storage)
            initialized = t.count
        }
    }

    private static func identity(rows: Int, columns: Int) -> Tensor {
        var t = Tensor(shape: [rows, columns])
        for i in 0..<min(rows, columns) { t[i, i] = 1 }
        return t
    }

    /// Runs `body` with the OpenBLAS thread count `threading` asks for, restoring it after.
    private static func withThreads(
        _ threading: Threading, m: Int, n: Int, _ body: () throws -> Void
    ) rethrows {
        let wanted: Int?
        switch threading {
        case .current: wanted = nil
        case .count(let c):
            precondition(c >= 1, "SVD: thread count must be ≥ 1, got \(c)")
            wanted = c
        case .singleThreadWhenSmall: wanted = max(m, n) <= singleThreadMaxDimension ? 1 : nil
        }
        let previous = BLAS.threadCount
        guard let wanted, wanted != previous else { return try body() }
        BLAS.setThreadCount(wanted)
        defer { BLAS.setThreadCount(previous) }
        try body()
    }
}
