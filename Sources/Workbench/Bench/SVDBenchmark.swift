import Analysis
import PEFTEngine

/// Square single-precision SVD through `SVD` (LAPACKE_sgesdd): seconds per call, for values
/// only ("sgesdd_values", JOBZ = 'N') and the full U, S, Vᵀ ("sgesdd_full", JOBZ = 'A'), and
/// the randomized top-k mode ("svd_randomized", `RandomizedSVD.topK`, k = 32) from n = 1024 on,
/// its error stated beside the best possible rank-k error (Eckart–Young) of the same matrix.
/// Calls go through `SVD.Threading.singleThreadWhenSmall`, the policy every analysis uses: at a
/// 2-thread budget, n ≤ 512 runs on 1 thread (the figure's detail says so).
///
/// `reference` (from `bench/references.json`, see `BenchReferences`): the faster of
/// `torch.linalg.svd` / `torch.linalg.svdvals` (MKL LAPACK) and `scipy.linalg.svd(…,
/// lapack_driver="gesdd")` (OpenBLAS LAPACK) on the same float32 matrix, best of reps, measured
/// on this machine at the same thread count by `scripts/bench_pytorch.py`.
public struct SVDBenchmark: Benchmark {
    public let name = "svd"
    public let summary = "LAPACKE_sgesdd seconds, square n×n: values only and full U, S, Vᵀ"
    public var sizes: [Int]
    public var quickSizes: [Int]

    public init(sizes: [Int] = [256, 512, 1024, 2048], quickSizes: [Int] = [8, 17]) {
        self.sizes = sizes
        self.quickSizes = quickSizes
    }

    public func run(_ settings: BenchSettings, report: (BenchFigure) -> Void) {
        for n in settings.quick ? quickSizes : sizes {
            let a = Tensor(shape: [n, n], storage: BenchTiming.randomValues(n * n, seed: 3))
            // A 2048² full SVD takes seconds: fewer repetitions and no warm-up there.
            let reps = settings.reps(normal: n >= 2048 ? 2 : n >= 1024 ? 3 : 5)
            let warmUp = !settings.quick && n < 2048
            for threads in settings.threadCounts {
                for full in [false, true] {
                    let seconds = BenchTiming.withBLASThreads(threads) {
                        BenchTiming.seconds(reps: reps, warmUp: warmUp) {
                            // A uniform random matrix is finite and sgesdd converges on it; a
                            // failure here is a broken LAPACK, worth stopping the benchmark.
                            do {
                                if full { _ = try SVD.decompose(a, mode: .full, threading: .singleThreadWhenSmall) }
                                else { _ = try SVD.singularValues(of: a, threading: .singleThreadWhenSmall) }
                            } catch {
                                preconditionFailure("bench svd \(n)×\(n): \(error)")
                            }
                        }
                    }
                    var figure = BenchTiming.timeFigure(
                        name: full ? "sgesdd_full" : "sgesdd_values", size: n, threads: threads, seconds: seconds)
                    if threads > 1 && n <= SVD.singleThreadMaxDimension {
                        figure.detail = "run on 1 thread: the library's policy for n ≤ \(SVD.singleThreadMaxDimension), where 2 threads are slower"
                    }
                    report(figure)
                }
                if settings.quick || n >= 1024 { randomized(a, n: n, threads: threads, reps: reps, settings: settings, report: report) }
            }
        }
    }

    private func randomized(_ a: Tensor, n: Int, threads: Int, reps: Int, settings: BenchSettings, report: (BenchFigure) -> Void) {
        let k = settings.quick ? 2 : 32
        var result: RandomizedSVD.Result?
        let seconds = BenchTiming.withBLASThreads(threads) {
            BenchTiming.seconds(reps: reps, warmUp: !settings.quick) {
                do { result = try RandomizedSVD.topK(a, k: k, oversampling: settings.quick ? 2 : 10, seed: 1) }
                catch { preconditionFailure("bench randomized svd \(n)×\(n): \(error)") }
            }
        }
        let exact = (try? SVD.singularValues(of: a)) ?? []
        let total = exact.reduce(0.0) { $0 + Double($1) * Double($1) }
        let tail = exact.dropFirst(k).reduce(0.0) { $0 + Double($1) * Double($1) }
        var figure = BenchTiming.timeFigure(name: "svd_randomized", size: n, threads: threads, seconds: seconds)
        figure.detail = String(format: "top-%d, residual %.4f of ‖A‖_F (best rank-%d: %.4f)", k,
                               result?.residualFrobeniusRelative ?? .nan, k, total > 0 ? (tail / total).squareRoot() : 0)
        report(figure)
    }
}
