import PEFTEngine

/// Square single-precision matrix multiply C = A·B through `BLAS.sgemm`: GFLOP/s counting
/// 2·n³ floating-point operations per call (n³ multiplies and n³ adds).
///
/// `reference` (from `bench/references.json`, see `BenchReferences`): `torch.matmul` of the same
/// matrices — the MKL sgemm under every PyTorch training figure — on this machine at the same
/// thread count, measured by `scripts/bench_pytorch.py`.
public struct SgemmBenchmark: Benchmark {
    public let name = "sgemm"
    public let summary = "cblas_sgemm GFLOP/s, square n×n, 2·n³ flops per call"
    public var sizes: [Int]
    public var quickSizes: [Int]

    public init(sizes: [Int] = [256, 512, 1024, 2048], quickSizes: [Int] = [16, 33]) {
        self.sizes = sizes
        self.quickSizes = quickSizes
    }

    public func run(_ settings: BenchSettings, report: (BenchFigure) -> Void) {
        for n in settings.quick ? quickSizes : sizes {
            let a = BenchTiming.randomValues(n * n, seed: 1)
            let b = BenchTiming.randomValues(n * n, seed: 2)
            var c = [Float](repeating: 0, count: n * n)
            let reps = settings.reps(normal: n >= 2048 ? 3 : n >= 1024 ? 5 : 10)
            for threads in settings.threadCounts {
                let seconds = BenchTiming.withBLASThreads(threads) {
                    a.withUnsafeBufferPointer { a in
                        b.withUnsafeBufferPointer { b in
                            c.withUnsafeMutableBufferPointer { c in
                                BenchTiming.seconds(reps: reps, warmUp: !settings.quick) {
                                    BLAS.sgemm(
                                        transA: false, transB: false, m: n, n: n, k: n, alpha: 1,
                                        a: a.baseAddress!, lda: n, b: b.baseAddress!, ldb: n,
                                        beta: 0, c: c.baseAddress!, ldc: n)
                                }
                            }
                        }
                    }
                }
                let flops = 2 * Double(n) * Double(n) * Double(n)
                report(BenchTiming.rateFigure(
                    name: name, size: n, threads: threads, unit: "GFLOP/s", work: flops / 1e9,
                    seconds: seconds))
            }
        }
    }
}
