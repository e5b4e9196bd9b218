/// Row kernels of the methods that scale a linear site's outputs or inputs per feature
/// ((IA)³'s vectors, DoRA's magnitude over norm): y ← y ⊙ scale (+ shift) in forward, and in
/// backward the scaled gradient together with the scale's own gradient, one pass per row.
/// Each runs eight lanes at a time; the plain loops (`…Reference`) are the specification.
enum ScaledRows {
    /// For i in 0..<n: `cache[i] = y[i]`, then `y[i] = y[i]·scale[i] + shift[i]`, or
    /// `y[i]·scale[i]` when shift is nil (IA3's output scaling; DoRA passes the bias).
    @inline(__always)
    static func cacheAndScale(
        n: Int, y: UnsafeMutablePointer<Float>, cache: UnsafeMutablePointer<Float>,
        scale: UnsafePointer<Float>, shift: UnsafePointer<Float>?
    ) {
        typealias V = SIMD8<Float>
        var i = 0
        while i + V.scalarCount <= n {
            let yv = UnsafeRawPointer(y + i).loadUnaligned(as: V.self)
            let scaled = yv * UnsafeRawPointer(scale + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(cache + i).storeBytes(of: yv, as: V.self)
            let shifted = shift.map { scaled + UnsafeRawPointer($0 + i).loadUnaligned(as: V.self) } ?? scaled
            UnsafeMutableRawPointer(y + i).storeBytes(of: shifted, as: V.self)
            i += V.scalarCount
        }
        while i < n {
            cache[i] = y[i]
            y[i] = shift.map { y[i] * scale[i] + $0[i] } ?? y[i] * scale[i]
            i += 1
        }
    }

    /// Plain-loop reference of `cacheAndScale` (tests).
    static func cacheAndScaleReference(
        n: Int, y: UnsafeMutablePointer<Float>, cache: UnsafeMutablePointer<Float>,
        scale: UnsafePointer<Float>, shift: UnsafePointer<Float>?
    ) {
        for i in 0..<n {
            cache[i] = y[i]
            y[i] = shift.map { y[i] * scale[i] + $0[i] } ?? y[i] * scale[i]
        }
    }

    /// For i in 0..<n: `acc[i] += a[i]·b[i]` — `fusedRow` without its output (an IA3
    /// input-scaled site whose dx nothing needs). Eight lanes at a time, then the tail.
    @inline(__always)
    static func accumulateProducts(n: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>, acc: UnsafeMutablePointer<Float>) {
        typealias V = SIMD8<Float>
        var i = 0
        while i + V.scalarCount <= n {
            let av = UnsafeRawPointer(a + i).loadUnaligned(as: V.self)
            let bv = UnsafeRawPointer(b + i).loadUnaligned(as: V.self)
            let accv = UnsafeRawPointer(acc + i).loadUnaligned(as: V.self)
            UnsafeMutableRawPointer(acc + i).storeBytes(of: accv + av * bv, as: V.self)
            i += V.scalarCount
        }
        while i < n {
            acc[i] += a[i] * b[i]
            i += 1
        }
    }

    /// For i in 0..<n: `acc[i] += a[i]·b[i]` and `out[i] = (accumulateOut ? out[i] : 0) + scale[i]·b[i]`
    /// — one row of every scaled backward (IA3 input scaling: b = g, a = x, out = dx; IA3
    /// output scaling and DoRA: b = dy, a = y_unscaled, out = dy_base). Eight lanes at a time
    /// (the pointers may alias as far as the compiler knows, so it would not vectorise the
    /// plain loop), plain-loop tail; `fusedRowReference` is the specification.
    @inline(__always)
    static func fusedRow(
        n: Int, b: UnsafePointer<Float>, a: UnsafePointer<Float>, acc: UnsafeMutablePointer<Float>,
        scale: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, accumulateOut: Bool
    ) {
        typealias V = SIMD8<Float>
        let w = V.scalarCount
        var i = 0
        while i + w <= n {
            let bv = UnsafeRawPointer(b + i).loadUnaligned(as: V.self)
            let av = UnsafeRawPointer(a + i).loadUnaligned(as: V.self)
            let sv = UnsafeRawPointer(scale + i).loadUnaligned(as: V.self)
            let accv = UnsafeRawPointer(acc + i).loadUnaligned(as: V.self)
            let prior = accumulateOut ? UnsafeRawPointer(out + i).loadUnaligned(as: V.self) : V()
            UnsafeMutableRawPointer(acc + i).storeBytes(of: accv + av * bv, as: V.self)
            UnsafeMutableRawPointer(out + i).storeBytes(of: prior + sv * bv, as: V.self)
            i += w
        }
        while i < n {
            acc[i] += a[i] * b[i]
            out[i] = (accumulateOut ? out[i] : 0) + scale[i] * b[i]
            i += 1
        }
    }

    /// Plain-loop reference of `fusedRow` (tests).
    static func fusedRowReference(
        n: Int, b: UnsafePointer<Float>, a: UnsafePointer<Float>, acc: UnsafeMutablePointer<Float>,
        scale: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, accumulateOut: Bool
    ) {
        for i in 0..<n {
            acc[i] += a[i] * b[i]
            out[i] = (accumulateOut ? out[i] : 0) + scale[i] * b[i]
        }
    }
}
