/// Branch-free e^x for Float32 that the compiler can vectorise (glibc's `expf` is a call
/// per element, which dominated GELU).
///
/// Cody–Waite reduction: n = round(x·log₂e), r = x − n·ln2 (ln2 split in a high part with
/// trailing zero bits and a low correction), |r| ≤ ½ln2; e^r by its degree-6 Taylor
/// polynomial (truncation ≤ r⁷/7! ≈ 1.2e-7 relative on that interval); 2ⁿ assembled in the
/// exponent bits. x is clamped to [−87, 88], so the result stays a normal float (no
/// infinities or subnormals). Measured relative error against `expf`: see KernelFastExpTests.
enum FastExp {
    static let log2e: Float = 1.442_695_04
    static let ln2High: Float = 0.693_145_751_953_125  // 0x3F317200: exact in 15 bits
    static let ln2Low: Float = 1.428_606_765_330_187_045_e-6  // ln 2 − ln2High
    /// 1.5·2²³: adding it rounds a float in ±2²² to an integer held in the low mantissa bits.
    static let roundingMagic: Float = 12_582_912

    @inline(__always)
    static func exp(_ x: Float) -> Float {
        let xc = Swift.min(Swift.max(x, -87), 88)
        let t = xc * log2e + roundingMagic
        let n = t - roundingMagic
        let r = (xc - n * ln2High) - n * ln2Low
        var p: Float = 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        let nInt = Int32(bitPattern: t.bitPattern &- 0x4B40_0000)
        let scale = Float(bitPattern: UInt32(bitPattern: (nInt &+ 127) &<< 23))
        return p * scale
    }
}
