/// Branch-free e^x and 2^x for Float32 that the compiler can vectorise (glibc's `expf` is a
/// call per element, which dominated GELU and the softmaxes). `exp` serves cross-entropy;
/// GELU and attention fold log₂e into their own constants and use the cheaper `exp2`.
///
/// Cody–Waite reduction: n = round(x·log₂e), r = x − n·ln2 (ln2 split in a high part with
/// trailing zero bits and a low correction), |r| ≤ ½ln2; e^r by its degree-6 Taylor
/// polynomial (truncation ≤ r⁷/7! ≈ 1.2e-7 relative on that interval); 2ⁿ assembled in the
/// exponent bits. x is clamped to [−87, 88], so the result stays a normal float (no
/// infinities or subnormals). Measured relative error against `expf`: see KernelFastExpTests.
enum FastExp {
    typealias V = SIMD8<Float>
    typealias Coefficients = (Float, Float, Float, Float, Float, Float, Float)

    static let log2e: Float = 1.442_695_04
    static let ln2High: Float = 0.693_145_751_953_125  // 0x3F317200: exact in 15 bits
    static let ln2Low: Float = 1.428_606_765_330_187_045_e-6  // ln 2 − ln2High
    /// 1.5·2²³: adding it rounds a float in ±2²² to an integer held in the low mantissa bits.
    static let roundingMagic: Float = 12_582_912

    /// e^x on eight lanes (see the type).
    @inline(__always)
    static func exp(_ x: V) -> V {
        let xc = clamp(x, -87, 88)
        let t = xc * log2e + roundingMagic
        let n = t - roundingMagic
        let r = (xc - n * ln2High) - n * ln2Low
        return horner(r, expCoefficients) * powerOfTwo(rounded: t)
    }

    /// e^x of one value: lane 0 of the eight-lane version (the same bits by construction).
    @inline(__always)
    static func exp(_ x: Float) -> Float { exp(V(repeating: x))[0] }

    /// 2^y for y clamped to [−126, 126], cheaper than `exp` where the caller can fold log₂e
    /// into its own constants (GELU and attention do): n = round(y), f = y − n ∈ [−½, ½]
    /// (exact), 2^f by a degree-6 polynomial fitted to minimise the relative error on that
    /// interval (Lawson's weighted least squares: ≈ 2e-9 in exact arithmetic, ≈ 1.04e-7 worst
    /// over every Float32 y with its rounding; see KernelFastExpTests), 2ⁿ assembled in the
    /// exponent bits. No Cody–Waite split is needed (f is exact), so this is four operations
    /// shorter than `exp`; the clamp keeps 2ⁿ a normal float.
    @inline(__always)
    static func exp2(_ y: V) -> V {
        let yc = clamp(y, -126, 126)
        let t = yc + roundingMagic
        let f = yc - (t - roundingMagic)
        return horner(f, exp2Coefficients) * powerOfTwo(rounded: t)
    }

    /// 2^y of one value: lane 0 of the eight-lane version (the same bits by construction).
    @inline(__always)
    static func exp2(_ y: Float) -> Float { exp2(V(repeating: y))[0] }

    /// c₀…c₆ of e^r ≈ Σ r^k / k! (Taylor).
    static let expCoefficients: Coefficients = (1, 1, 0.5, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720)
    /// c₀…c₆ of 2^f ≈ Σ c_k f^k on [−½, ½] (c_k ≈ ln2^k / k!, adjusted for minimal relative error).
    static let exp2Coefficients: Coefficients = (
        1.0, 0.693_147_18, 0.240_226_46, 0.055_503_286, 0.009_618_489, 0.001_339_993_1, 0.000_153_458_12)

    /// x clamped to [low, high] (mask-and-replace: the stdlib's pointwiseMin/Max stay out of
    /// line), each bound on the previous result, so the compiler emits maxps then minps.
    @inline(__always)
    private static func clamp(_ x: V, _ low: Float, _ high: Float) -> V {
        let lowV = V(repeating: low), highV = V(repeating: high)
        let xl = x.replacing(with: lowV, where: x .< lowV)
        return xl.replacing(with: highV, where: xl .> highV)
    }

    /// Σ c_k·x^k, k = 0…6, by Horner's rule from c₆.
    @inline(__always)
    private static func horner(_ x: V, _ c: Coefficients) -> V {
        var p = V(repeating: c.6)
        p = p * x + c.5
        p = p * x + c.4
        p = p * x + c.3
        p = p * x + c.2
        p = p * x + c.1
        return p * x + c.0
    }

    /// 2ⁿ for t = n + `roundingMagic` (n in −126…127): t's low mantissa bits hold n, and shifted
    /// left by 23 with the bias they are 2ⁿ's exponent (the bits above them shift out).
    @inline(__always)
    private static func powerOfTwo(rounded t: V) -> V {
        unsafeBitCast((unsafeBitCast(t, to: SIMD8<UInt32>.self) &+ 127) &<< 23, to: V.self)
    }
}

extension FastExp {
    /// The shifted exponentials of a softmax row: out[i] = e^(x[i] − max x) for i in 0..<count
    /// (out may be x itself); returns max x and Σ out. Eight lanes at a time, with the max and
    /// the sum kept in eight partial lanes then reduced (a fixed order, so results are
    /// reproducible; `exponentiateReference` is the plain serial loop it is tested against).
    @inline(__always)
    static func exponentiate(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count n: Int) -> (max: Float, sum: Float) {
        shiftedPowers(out: out, x: x, count: n, base2: false)
    }

    /// `exponentiate` in base 2: out[i] = 2^(x[i] − max x), by `exp2`. For a softmax whose
    /// scores were scaled by log₂e beforehand (the same probabilities, fewer operations).
    @inline(__always)
    static func exponentiate2(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count n: Int) -> (max: Float, sum: Float) {
        shiftedPowers(out: out, x: x, count: n, base2: true)
    }

    /// max x and Σ e^(x[i] − max x), the same bits as `exponentiate` returns, storing nothing.
    @inline(__always)
    static func shiftedSum(_ x: UnsafePointer<Float>, count n: Int) -> (max: Float, sum: Float) {
        shiftedPowers(out: nil, x: x, count: n, base2: false)
    }

    /// out nil: the powers are summed but not stored.
    @inline(__always)
    private static func shiftedPowers(
        out: UnsafeMutablePointer<Float>?, x: UnsafePointer<Float>, count n: Int, base2: Bool
    ) -> (max: Float, sum: Float) {
        typealias V = SIMD8<Float>
        let w = V.scalarCount
        let src = UnsafeRawPointer(x), dst = out.map(UnsafeMutableRawPointer.init)
        var maxV = V(repeating: -.infinity)
        var i = 0
        while i + w <= n {
            let v = src.loadUnaligned(fromByteOffset: i * 4, as: V.self)
            maxV = maxV.replacing(with: v, where: v .> maxV)
            i += w
        }
        var m = maxV.max()
        while i < n {
            if x[i] > m { m = x[i] }
            i += 1
        }
        var sumV = V()
        i = 0
        while i + w <= n {
            let shifted = src.loadUnaligned(fromByteOffset: i * 4, as: V.self) - m
            let e = base2 ? exp2(shifted) : exp(shifted)
            dst?.storeBytes(of: e, toByteOffset: i * 4, as: V.self)
            sumV += e
            i += w
        }
        var sum = sumV.sum()
        if i < n {
            // The last 1–7 elements as one vector (lanes past the end unused), added in order.
            var shifted = V()
            for j in 0..<(n - i) { shifted[j] = x[i + j] - m }
            let e = base2 ? exp2(shifted) : exp(shifted)
            for j in 0..<(n - i) {
                out?[i + j] = e[j]
                sum += e[j]
            }
        }
        return (m, sum)
    }

    /// Plain serial loop of `exponentiate` (`base2`: of `exponentiate2`) for tests: same max,
    /// sums in index order.
    static func exponentiateReference(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, count n: Int,
                                      base2: Bool = false) -> (max: Float, sum: Float) {
        var m = -Float.infinity
        for i in 0..<n where x[i] > m { m = x[i] }
        var sum: Float = 0
        for i in 0..<n {
            out[i] = base2 ? exp2(x[i] - m) : exp(x[i] - m)
            sum += out[i]
        }
        return (m, sum)
    }
}
