import Foundation

/// GELU, tanh approximation (Hendrycks & Gimpel 2016; as in GPT-2 and PyTorch's
/// `gelu(x, approximate="tanh")` — NOT PyTorch's default exact-erf `nn.GELU()`):
/// `gelu(x) = ½ x (1 + tanh(u))`, `u = √(2/π) (x + 0.044715 x³)`.
///
/// Computed through the identity ½(1 + tanh u) = σ(2u) = 1 / (1 + e^(−2u)), with the
/// vectorisable `FastExp.exp` instead of glibc's much slower `tanhf` (same function,
/// rounding differs by a few ulps).
///
/// Nothing is cached: backward recomputes the gate s = σ(2u) from x (the same operations, so
/// the same bits) instead of reading a forward cache, which saves a [B, T, F] write and read
/// per layer on these memory-bound passes.
///
/// `forward`/`backward` split the elements over `Parallel` chunks and run eight lanes at a
/// time; each element's value is the same as in `forwardReference`/`backwardReference`, the
/// plain serial loops.
enum GELU {
    static let sqrt2OverPi: Float = 0.797_884_56  // √(2/π)
    static let cubic: Float = 0.044_715

    /// Elements per chunk below which a call stays on one thread.
    static let grain = 8_192

    /// out[i] = gelu(x[i]) for i in 0..<N (out may be x itself).
    static func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, N: Int) {
        Parallel.forEachChunk(N, grain: grain) { _, range in
            forwardElements(range, out: out, x: x)
        }
    }

    /// Plain serial loop of `forward` (the reference it is tested against).
    static func forwardReference(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, N: Int) {
        for i in 0..<N { out[i] = x[i] * gate(x[i]) }
    }

    /// s = σ(2u) = ½(1 + tanh u), u = √(2/π)(x + 0.044715 x³).
    @inline(__always)
    static func gate(_ v: Float) -> Float {
        let u = sqrt2OverPi * (v + cubic * v * v * v)
        return 1 / (1 + FastExp.exp(-2 * u))
    }

    /// `gate` on eight lanes (the same operations, so the same bits per lane).
    @inline(__always)
    static func gate(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let u = sqrt2OverPi * (v + cubic * v * v * v)
        return 1 / (1 + FastExp.exp(-2 * u))
    }

    /// gelu'(x) = s + 2 x s (1 − s) √(2/π)(1 + 3·0.044715 x²), s = σ(2u).
    @inline(__always)
    static func derivative(_ v: Float) -> Float {
        let s = gate(v)
        return s + 2 * v * s * (1 - s) * sqrt2OverPi * (1 + 3 * cubic * v * v)
    }

    @inline(__always)
    static func derivative(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let s = gate(v)
        return s + 2 * v * s * (1 - s) * sqrt2OverPi * (1 + 3 * cubic * v * v)
    }

    @inline(__always)
    private static func forwardElements(_ range: Range<Int>, out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        typealias V = SIMD8<Float>
        let src = UnsafeRawPointer(x), dst = UnsafeMutableRawPointer(out)
        var i = range.lowerBound
        while i + V.scalarCount <= range.upperBound {
            let v = src.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            dst.storeBytes(of: v * gate(v), toByteOffset: i * 4, as: V.self)
            i += V.scalarCount
        }
        while i < range.upperBound {
            out[i] = x[i] * gate(x[i])
            i += 1
        }
    }

    /// dx[i] += gelu'(x[i]) · dout[i] (`accumulate`), or dx[i] = gelu'(x[i]) · dout[i]
    /// (overwritten, no zeroing needed; dx may then be dout itself, each element is read
    /// before it is written).
    static func backward(
        dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        N: Int, accumulate: Bool = true
    ) {
        Parallel.forEachChunk(N, grain: grain) { _, range in
            backwardElements(range, dx: dx, dout: dout, x: x, accumulate: accumulate)
        }
    }

    /// Plain serial loop of `backward` (the reference it is tested against).
    static func backwardReference(
        dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        N: Int, accumulate: Bool = true
    ) {
        for i in 0..<N {
            let g = derivative(x[i]) * dout[i]
            dx[i] = accumulate ? dx[i] + g : g
        }
    }

    @inline(__always)
    private static func backwardElements(
        _ range: Range<Int>, dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        accumulate: Bool
    ) {
        typealias V = SIMD8<Float>
        let src = UnsafeRawPointer(x), upstream = UnsafeRawPointer(dout), dst = UnsafeMutableRawPointer(dx)
        var i = range.lowerBound
        while i + V.scalarCount <= range.upperBound {
            let v = src.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            let g = derivative(v) * upstream.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            let prior = accumulate ? dst.loadUnaligned(fromByteOffset: i * 4, as: V.self) : V()
            dst.storeBytes(of: accumulate ? prior + g : g, toByteOffset: i * 4, as: V.self)
            i += V.scalarCount
        }
        while i < range.upperBound {
            let g = derivative(x[i]) * dout[i]
            dx[i] = accumulate ? dx[i] + g : g
            i += 1
        }
    }
}
