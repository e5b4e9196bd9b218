/// Sums along one contiguous row, eight lanes at a time: the partial sums of lanes 0..<8 are
/// kept apart and added at the end (in lane order), then the tail in index order. The serial
/// loops (`…Reference`) add in index order; the two differ only by summation order. A plain
/// `for` loop would not vectorise here: without reassociation, the compiler must add in order.
///
/// The row kernels (LayerNorm's statistics, attention's softmax backward) use these, so
/// their results are fixed functions of the inputs, whatever the thread count.
enum RowReduce {
    typealias V = SIMD8<Float>

    /// Σ x[i], i < n.
    @inline(__always)
    static func sum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        let raw = UnsafeRawPointer(x)
        var acc = V()
        var i = 0
        while i + V.scalarCount <= n {
            acc += raw.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            i += V.scalarCount
        }
        var s = acc.sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    /// Σ (x[i] − m)², i < n.
    @inline(__always)
    static func squaredDeviations(_ x: UnsafePointer<Float>, from m: Float, count n: Int) -> Float {
        let raw = UnsafeRawPointer(x)
        var acc = V()
        var i = 0
        while i + V.scalarCount <= n {
            let d = raw.loadUnaligned(fromByteOffset: i * 4, as: V.self) - m
            acc += d * d
            i += V.scalarCount
        }
        var s = acc.sum()
        while i < n { let d = x[i] - m; s += d * d; i += 1 }
        return s
    }

    /// Σ a[i]·b[i], i < n.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        var acc = V()
        var i = 0
        while i + V.scalarCount <= n {
            acc += ra.loadUnaligned(fromByteOffset: i * 4, as: V.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            i += V.scalarCount
        }
        var s = acc.sum()
        while i < n { s += a[i] * b[i]; i += 1 }
        return s
    }

    /// Plain serial loops (tests).
    static func sumReference(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var s: Float = 0
        for i in 0..<n { s += x[i] }
        return s
    }

    static func dotReference(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int) -> Float {
        var s: Float = 0
        for i in 0..<n { s += a[i] * b[i] }
        return s
    }
}
