import Testing
@testable import PEFTEngine

/// `BLAS.sgemmBlocked` (skinny products cut into blocks and spread over workers) against a
/// plain triple loop, for every transpose combination, both cut directions and several
/// worker counts; and reproducible for a given worker count.
@Suite struct KernelBlockedSgemmTests {
    /// (m, n, k): rows cut, k cut with m ≥ n, k cut with n > m, and one small call.
    static let shapes = [(200, 8, 16), (24, 8, 300), (8, 40, 300), (5, 3, 7)]

    @Test(arguments: [1, 2, 3])
    func matchesThePlainLoop(workers: Int) {
        var r = TestRandom(seed: UInt64(90 + workers))
        for (m, n, k) in Self.shapes {
            for transA in [false, true] {
                for transB in [false, true] {
                    let a = r.normals(m * k), b = r.normals(k * n), c0 = r.normals(m * n)
                    let lda = transA ? m : k, ldb = transB ? k : n
                    var expected = c0
                    for i in 0..<m {
                        for j in 0..<n {
                            var acc: Float = 0
                            for p in 0..<k {
                                acc += (transA ? a[p * lda + i] : a[i * lda + p]) * (transB ? b[j * ldb + p] : b[p * ldb + j])
                            }
                            expected[i * n + j] = 0.5 * acc + 2 * c0[i * n + j]
                        }
                    }
                    func run() -> [Float] {
                        var c = c0
                        Parallel.$forcedWorkers.withValue(workers) {
                            BLAS.sgemmBlocked(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda,
                                              b: b, ldb: ldb, beta: 2, c: &c, ldc: n)
                        }
                        return c
                    }
                    let got = run()
                    let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
                    #expect(worst < 1e-4 * Float(k), "m \(m) n \(n) k \(k) transA \(transA) transB \(transB) workers \(workers): \(worst)")
                    #expect(run() == got, "not reproducible: m \(m) n \(n) k \(k), workers \(workers)")
                }
            }
        }
    }
}
