import Foundation

/// GELU, tanh approximation (Hendrycks & Gimpel 2016; as in GPT-2 and PyTorch's
/// `gelu(x, approximate="tanh")` — NOT PyTorch's default exact-erf `nn.GELU()`):
/// `gelu(x) = ½ x (1 + tanh(u))`, `u = √(2/π) (x + 0.044715 x³)`.
///
/// Computed through the identity ½(1 + tanh u) = σ(2u) = 1 / (1 + 2^y), y = −2u·log₂e
/// = x·(k₁ + k₂x²) with the constants folded, by the vectorisable `FastExp.exp2` instead of
/// glibc's much slower `tanhf` (same function, rounding differs by a few ulps).
///
/// `forward`/`backward` split the elements over `Parallel` chunks; each element's value is
/// the same as in `forwardReference`/`backwardReference`, the plain serial loops.
enum GELU {
    static let sqrt2OverPi: Float = 0.797_884_56  // √(2/π)
    static let cubic: Float = 0.044_715
    /// y = −2u·log₂e = x·(k₁ + k₂·x²): k₁ = −2√(2/π)·log₂e, k₂ = k₁·0.044715.
    static let k1: Float = -2 * sqrt2OverPi * FastExp.log2e
    static let k2: Float = -2 * sqrt2OverPi * cubic * FastExp.log2e

    /// out[i] = gelu(x[i]) for i in 0..<N; gate[i] = σ(2u(x[i])) is cached for backward.
    static func forward(out: UnsafeMutablePointer<Float>, gate: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, N: Int) {
        Parallel.forEachChunk(N, grain: grain) { _, range in
            forwardElements(range, out: out, gate: gate, x: x)
        }
    }

    /// Elements per chunk below which a call stays on one thread.
    static let grain = 8_192

    /// Plain serial scalar loop of `forward` (the reference it is tested against).
    static func forwardReference(out: UnsafeMutablePointer<Float>, gate: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, N: Int) {
        for i in 0..<N { (out[i], gate[i]) = forwardElement(x[i]) }
    }

    /// gelu(v) and its gate σ(2u), one element.
    @inline(__always)
    private static func forwardElement(_ v: Float) -> (out: Float, gate: Float) {
        let s = 1 / (1 + FastExp.exp2(v * (k1 + k2 * (v * v))))
        return (v * s, s)
    }

    /// Eight lanes at a time (`FastExp.exp2` on `SIMD8`, lane by lane the scalar operations, so
    /// every element equals the scalar loop's bit for bit), then the scalar tail.
    @inline(__always)
    private static func forwardElements(_ range: Range<Int>, out: UnsafeMutablePointer<Float>, gate: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>) {
        typealias V = SIMD8<Float>
        let w = V.scalarCount
        let src = UnsafeRawPointer(x), gates = UnsafeMutableRawPointer(gate), outs = UnsafeMutableRawPointer(out)
        var i = range.lowerBound
        while i + w <= range.upperBound {
            let v = src.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            let s = 1 / (1 + FastExp.exp2(v * (k1 + k2 * (v * v))))
            gates.storeBytes(of: s, toByteOffset: i * 4, as: V.self)
            outs.storeBytes(of: v * s, toByteOffset: i * 4, as: V.self)
            i += w
        }
        while i < range.upperBound {
            (out[i], gate[i]) = forwardElement(x[i])
            i += 1
        }
    }

    /// dx[i] += gelu'(x[i]) · dout[i], with
    /// `gelu'(x) = ½(1 + tanh u) + ½ x (1 − tanh² u) √(2/π)(1 + 3·0.044715 x²)`
    /// `         = s + 2 x s (1 − s) √(2/π)(1 + 3·0.044715 x²)`, s = σ(2u).
    /// `gate` is forward's cache, so this loop has no transcendental call and vectorises.
    /// `accumulate` false: dx[i] = gelu'(x[i]) · dout[i] (overwritten, no zeroing needed);
    /// dx may then be dout itself (in place, each element read before it is written).
    static func backward(
        dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        gate: UnsafePointer<Float>, N: Int, accumulate: Bool = true
    ) {
        Parallel.forEachChunk(N, grain: grain) { _, range in
            if accumulate {
                backwardElements(range, dx: dx, dout: dout, x: x, gate: gate)
            } else {
                backwardOverwrite(range, dx: dx, dout: dout, x: x, gate: gate)
            }
        }
    }

    /// Plain serial loop of `backward` (the reference it is tested against).
    static func backwardReference(
        dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        gate: UnsafePointer<Float>, N: Int
    ) {
        backwardElements(0..<N, dx: dx, dout: dout, x: x, gate: gate)
    }

    @inline(__always)
    private static func backwardElements(
        _ range: Range<Int>, dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        gate: UnsafePointer<Float>
    ) {
        for i in range { dx[i] += derivative(x[i], gate: gate[i]) * dout[i] }
    }

    @inline(__always)
    private static func backwardOverwrite(
        _ range: Range<Int>, dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        gate: UnsafePointer<Float>
    ) {
        for i in range { dx[i] = derivative(x[i], gate: gate[i]) * dout[i] }
    }

    /// GELU′(v) from the cached gate s = σ(2u), u = √(2/π)(v + c·v³):
    /// s + 2·v·s·(1 − s)·√(2/π)·(1 + 3c·v²).
    @inline(__always)
    private static func derivative(_ v: Float, gate s: Float) -> Float {
        s + 2 * v * s * (1 - s) * sqrt2OverPi * (1 + 3 * cubic * v * v)
    }
}
