import Foundation

/// A fixed-size, zero-initialised block of Float32 with a stable address.
///
/// The engine's parameter, gradient, optimizer-moment and activation buffers are arenas:
/// allocated once, pointed into by named views, freed in `deinit`. Hot loops take
/// `pointer` (plus an offset) and never allocate.
///
/// Allocated with `calloc`: a large arena is fresh zero pages from the system, and a page
/// becomes resident only when written. The gradients and AdamW moments of a frozen base
/// (every PEFT method) are never written, so they cost address space, not memory.
public final class FloatArena {
    /// Number of Float elements.
    public let count: Int
    /// Base address; valid for the arena's lifetime.
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        precondition(count >= 0, "FloatArena: negative count \(count)")
        self.count = count
        guard let raw = calloc(max(count, 1), MemoryLayout<Float>.stride) else {
            fatalError("FloatArena: cannot allocate \(count) floats (\(4 * count) bytes)")
        }
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    deinit { free(pointer) }

    /// Address of element `offset`.
    @inline(__always)
    public func at(_ offset: Int) -> UnsafeMutablePointer<Float> { pointer + offset }

    /// Sets elements `range` to zero (large ranges in `Parallel` chunks: memory bandwidth).
    public func zero(_ range: Range<Int>) {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "FloatArena.zero: \(range) outside 0..<\(count)")
        let start = pointer + range.lowerBound
        Parallel.forEachChunk(range.count, grain: 1 << 20) { _, chunk in
            (start + chunk.lowerBound).update(repeating: 0, count: chunk.count)
        }
    }

    /// Sets every element to zero.
    public func zeroAll() { zero(0..<count) }

    /// A copy of elements `range` (for checkpoints and tests, not hot paths).
    public func copy(_ range: Range<Int>) -> [Float] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "FloatArena.copy: \(range) outside 0..<\(count)")
        return Array(UnsafeBufferPointer(start: pointer + range.lowerBound, count: range.count))
    }
}
