import Dispatch

/// A small deterministic parallel-for for the row-wise kernels (LayerNorm, GELU,
/// cross-entropy, residual adds, attention over (b, h) pairs, AdamW).
///
/// `0..<count` is cut into at most `workers` contiguous chunks, chunk i being
/// `count·i/n ..< count·(i+1)/n`, and each chunk runs on its own thread through
/// `DispatchQueue.concurrentPerform` (no allocation per call beyond what it does itself).
/// Kernels only ever hand it work whose items are independent (rows, elements, columns of
/// a reduction that each keep their serial summation order), so their results are
/// bit-identical to the serial loop for every thread count. Nothing here reduces across
/// chunks; a caller that does (LoRA's folded backward adds per-chunk partial gradients in
/// chunk order) is bit-reproducible per thread count instead, and says so.
///
/// The worker count follows `BLAS.threadCount` (the one thread knob of the engine), capped
/// at `maxWorkers` so per-worker scratch (attention's `datt`) can be sized once.
public enum Parallel {
    /// Upper bound on chunks per call; per-worker scratch buffers hold this many slices.
    public static let maxWorkers = 8

    /// Chunks a parallel kernel uses now: `min(BLAS.threadCount, maxWorkers)`.
    public static var workers: Int { forcedWorkers.map { min($0, maxWorkers) } ?? min(max(BLAS.threadCount, 1), maxWorkers) }

    /// Tests only: when set (on the current task), calls use exactly `min(value, count)` chunks,
    /// ignoring `grain`, so the chunked paths run on tiny shapes without touching the global
    /// BLAS thread count that concurrently running tests depend on.
    @TaskLocal static var forcedWorkers: Int?

    /// How many chunks `forEachChunk(count, grain:)` cuts `0..<count` into right now (0 or 1:
    /// one call on the calling thread), for callers that combine per-chunk results afterwards.
    @inline(__always)
    public static func chunkCount(_ count: Int, grain: Int = 1) -> Int {
        forcedWorkers.map { min($0, maxWorkers, count) } ?? min(workers, count / grain)
    }

    /// Calls `body(chunk, range)` for the contiguous chunks of `0..<count`, concurrently when
    /// there is more than one. At most `workers` chunks, and fewer so that each holds at least
    /// `grain` items (small calls stay on the calling thread). `chunk` is in `0..<workers`.
    @inline(__always)
    public static func forEachChunk(_ count: Int, grain: Int = 1, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
        precondition(count >= 0 && grain >= 1, "Parallel.forEachChunk: count \(count), grain \(grain)")
        forEachChunk(count, chunks: chunkCount(count, grain: grain), body)
    }

    /// `forEachChunk` with the number of chunks fixed by the caller (from `chunkCount`), for
    /// callers that must know it afterwards — e.g. to add per-chunk partial sums — without
    /// asking `chunkCount` again while the thread count may have changed.
    @inline(__always)
    public static func forEachChunk(_ count: Int, chunks n: Int, _ body: (_ chunk: Int, _ range: Range<Int>) -> Void) {
        precondition(count >= 0 && n >= 0, "Parallel.forEachChunk: count \(count), chunks \(n)")
        if n <= 1 {
            if count > 0 { body(0, 0..<count) }
            return
        }
        // concurrentPerform wants a @Sendable closure; the kernels' bodies capture raw
        // pointers to disjoint regions, which is their own (documented) contract.
        // Chunks that call BLAS must not each ask OpenBLAS's shared pool for threads.
        BLAS.onCallingThreads {
            withoutActuallyEscaping(body) { body in
                nonisolated(unsafe) let work = body
                DispatchQueue.concurrentPerform(iterations: n) { i in
                    work(i, (count * i / n)..<(count * (i + 1) / n))
                }
            }
        }
    }
}
