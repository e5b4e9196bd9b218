import Analysis
import PEFTEngine

/// Square single-precision SVD through `SVD` (LAPACKE_sgesdd): seconds per call, for values
/// only ("sgesdd_values", JOBZ = 'N') and the full U, S, Vᵀ ("sgesdd_full", JOBZ = 'A').
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
                                if full { _ = try SVD.decompose(a, mode: .full) }
                                else { _ = try SVD.singularValues(of: a) }
                            } catch {
                                preconditionFailure("bench svd \(n)×\(n): \(error)")
                            }
                        }
                    }
                    report(BenchTiming.timeFigure(
                        name: full ? "sgesdd_full" : "sgesdd_values", size: n, threads: threads,
                        seconds: seconds))
                }
            }
        }
    }
}
