import Foundation
import PEFTEngine

/// One entry of `workbench bench`: a named family of figures. New figures (training tokens/s,
/// NF4 quantize/dequantize, HDF5 write/read) are new types conforming to this, added to
/// `BenchSuite.all`.
public protocol Benchmark: Sendable {
    /// The name `--only` selects it by, e.g. "sgemm".
    var name: String { get }
    /// One-line description for `--help` and the table.
    var summary: String { get }
    /// Measures and hands each figure to `report` as soon as it is known.
    func run(_ settings: BenchSettings, report: (BenchFigure) -> Void)
}

/// How thoroughly to measure.
public struct BenchSettings: Sendable, Equatable {
    /// Tiny sizes, one repetition, no warm-up: checks the plumbing, measures nothing useful.
    public var quick: Bool
    /// Overrides each benchmark's own repetition count when set.
    public var reps: Int?
    /// OpenBLAS thread counts to measure BLAS-backed figures at.
    public var threadCounts: [Int]
    /// The fine-tuning methods the training benchmarks measure (registry names); nil for all.
    public var methods: [String]?

    public init(quick: Bool = false, reps: Int? = nil, threadCounts: [Int] = [1, 2], methods: [String]? = nil) {
        precondition(reps.map { $0 >= 1 } ?? true, "BenchSettings: reps must be ≥ 1")
        precondition(threadCounts.allSatisfy { $0 >= 1 }, "BenchSettings: thread counts must be ≥ 1")
        self.quick = quick; self.reps = reps; self.threadCounts = threadCounts; self.methods = methods
    }

    /// Whether the training benchmarks measure the method called `name`.
    func measures(method name: String) -> Bool { methods?.contains(name) ?? true }

    /// `normal` unless `quick` (then 1) or overridden by `reps`.
    func reps(normal: Int) -> Int { reps ?? (quick ? 1 : normal) }
}

/// Timing helpers shared by the benchmarks.
enum BenchTiming {
    /// Wall-clock seconds of each of `reps` calls of `body`, after one untimed warm-up call
    /// unless `warmUp` is false.
    static func seconds(reps: Int, warmUp: Bool, _ body: () -> Void) -> [Double] {
        if warmUp { body() }
        let clock = ContinuousClock()
        return (0..<reps).map { _ in clock.measure(body).inSeconds }
    }

    static func median(_ values: [Double]) -> Double {
        precondition(!values.isEmpty, "median of no values")
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }

    /// A figure for a rate `work / seconds` (higher is better).
    static func rateFigure(
        name: String, size: Int, threads: Int, unit: String, work: Double, seconds: [Double]
    ) -> BenchFigure {
        let rates = seconds.map { work / max($0, 1e-12) }
        return BenchFigure(
            name: name, size: size, threads: threads, cores: ProcessInfo.processInfo.activeProcessorCount,
            blasKernel: BLAS.kernelName, unit: unit, reps: seconds.count,
            best: rates.max()!, median: median(rates))
    }

    /// A figure for a duration in seconds (lower is better).
    static func timeFigure(name: String, size: Int, threads: Int, seconds: [Double]) -> BenchFigure {
        BenchFigure(
            name: name, size: size, threads: threads, cores: ProcessInfo.processInfo.activeProcessorCount,
            blasKernel: BLAS.kernelName, unit: "s", reps: seconds.count,
            best: seconds.min()!, median: median(seconds))
    }

    /// Runs `body` with OpenBLAS on `threads` threads, restoring the previous count after.
    /// The count is process-wide state.
    static func withBLASThreads<R>(_ threads: Int, _ body: () -> R) -> R {
        let previous = BLAS.threadCount
        BLAS.setThreadCount(threads)
        defer { BLAS.setThreadCount(previous) }
        return body()
    }

    /// `count` pseudo-random values in [-1, 1) from a fixed seed (a 64-bit LCG, Knuth's MMIX
    /// constants), so every run measures the same data.
    static func randomValues(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 23) - 1
        }
    }
}
