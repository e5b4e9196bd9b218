import CBLAS

/// The one door to OpenBLAS. Everything BLAS-backed in the workbench calls through here;
/// no other file imports `CBLAS`.
public enum BLAS {
    /// C ← alpha · op(A) · op(B) + beta · C, all row-major Float32.
    ///
    /// - op(A) is M×K, op(B) is K×N, C is M×N; `lda`, `ldb`, `ldc` are the row strides
    ///   of the matrices as stored (before transposition).
    @inline(__always)
    public static func sgemm(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative dimension \(m)×\(n)×\(k)")
        if m == 0 || n == 0 { return }
        cblas_sgemm(
            CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Block length of `sgemmBlocked`.
    public static let skinnyBlock = 64

    /// `sgemm` for the skinny products of low-rank paths and bottleneck adapters (rank or
    /// bottleneck r of a few, M = B·T rows in the thousands). Handed whole, OpenBLAS packs the
    /// [M, in] operand before an r-wide product and the packing dominates; cut into blocks of
    /// `skinnyBlock` along the long dimension, each call is small enough for its unpacked
    /// small-matrix kernels (measured: LoRA's training step ≈ 1.15× faster). When k is the
    /// longest dimension, the k blocks accumulate in order (beta applies to the first); else
    /// the rows of C are cut, leaving every element's sum as one call. The work is spread over
    /// `Parallel` chunks, inside which each call runs on its chunk's thread (OpenBLAS threads a
    /// GEMM above m·n·k ≈ 2.6·10⁵, which a 64-row block with k = 576 passes; `Parallel` turns
    /// that off so that two chunks do not queue on OpenBLAS's one pool):
    /// row blocks (m cut), or slices of the larger of C's two sides, each running the k blocks
    /// in order (k cut). Nothing is reduced across chunks, so the order of operations is fixed
    /// and results are reproducible for a given thread count.
    public static func sgemmBlocked(
        transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
        alpha: Float, a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        let block = skinnyBlock
        if k > block && k >= m && k >= n {
            let splitRows = m >= n
            Parallel.forEachChunk(splitRows ? m : n, grain: 32) { _, slice in
                // This chunk's rows (or columns) of C, with the matching rows of op(A) (or columns of op(B)).
                let i0 = slice.lowerBound
                let a0 = splitRows ? (transA ? a + i0 : a + i0 * lda) : a
                let b0 = splitRows ? b : (transB ? b + i0 * ldb : b + i0)
                let c0 = splitRows ? c + i0 * ldc : c + i0
                let mm = splitRows ? slice.count : m, nn = splitRows ? n : slice.count
                for k0 in stride(from: 0, to: k, by: block) {
                    sgemm(transA: transA, transB: transB, m: mm, n: nn, k: min(block, k - k0), alpha: alpha,
                          a: transA ? a0 + k0 * lda : a0 + k0, lda: lda, b: transB ? b0 + k0 : b0 + k0 * ldb, ldb: ldb,
                          beta: k0 == 0 ? beta : 1, c: c0, ldc: ldc)
                }
            }
        } else if m > block {
            Parallel.forEachChunk((m + block - 1) / block, grain: 4) { _, blocks in
                for blockIndex in blocks {
                    let m0 = blockIndex * block
                    sgemm(transA: transA, transB: transB, m: min(block, m - m0), n: n, k: k, alpha: alpha,
                          a: transA ? a + m0 : a + m0 * lda, lda: lda, b: b, ldb: ldb, beta: beta, c: c + m0 * ldc, ldc: ldc)
                }
            }
        } else {
            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// The OpenBLAS kernel in use (e.g. "Haswell", "SkylakeX", "Cooperlake").
    public static var kernelName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The engine's thread count: what `setThreadCount` last set, else what OpenBLAS started
    /// with. OpenBLAS's own count drops to 1 inside `Parallel` chunks (`onCallingThreads`);
    /// this one does not, so chunk counts never see that.
    public static var threadCount: Int { configuredThreads ?? startupThreads }

    /// Set by `setThreadCount`.
    nonisolated(unsafe) private static var configuredThreads: Int?
    private static let startupThreads = Int(openblas_get_num_threads())

    /// Sets the OpenBLAS thread count (takes effect immediately).
    public static func setThreadCount(_ n: Int) {
        precondition(n >= 1, "thread count must be ≥ 1, got \(n)")
        configuredThreads = n
        openblas_set_num_threads(Int32(n))
    }

    /// Runs `body`, whose BLAS calls come from several `Parallel` chunks at once, with
    /// OpenBLAS's own threading off: each call then runs on the thread that makes it. (Two
    /// chunks each calling a threaded sgemm — attention's 128×128×64 products, the blocks of a
    /// skinny product — would queue on OpenBLAS's one pool of workers and wait for each other.)
    /// The count is restored to `threadCount` afterwards. Each call's result does not depend on
    /// how OpenBLAS threads it (it splits rows and columns of C, never the k sum).
    static func onCallingThreads<R>(_ body: () -> R) -> R {
        let n = threadCount
        guard n > 1 else { return body() }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(n)) }
        return body()
    }

    /// What CPUID reports and what the OS enables (XCR0) on this processor.
    public static func cpuFeatures() -> CPUFeatures {
        #if arch(x86_64) || arch(i386)
        let f = wb_read_cpu_features()
        return CPUFeatures(
            avx: f.avx != 0, avx2: f.avx2 != 0, fma: f.fma != 0,
            avx512f: f.avx512f != 0, avx512dq: f.avx512dq != 0, avx512cd: f.avx512cd != 0,
            avx512bw: f.avx512bw != 0, avx512vl: f.avx512vl != 0, avx512bf16: f.avx512bf16 != 0,
            osxsave: f.osxsave != 0, xcr0: UInt64(f.xcr0))
        #else
        return CPUFeatures()
        #endif
    }
}
