/// Conversions between Float32 and the two 16-bit float formats safetensors stores.
///
/// - IEEE 754 binary16 (`F16`): 1 sign, 5 exponent (bias 15), 10 fraction bits. Normal values
///   are (−1)^s · 2^(e−15) · (1 + f/1024); e = 0 gives subnormals (−1)^s · 2^−14 · f/1024
///   (smallest 2^−24 = 0x0001); e = 31 gives ±inf (f = 0) or NaN (f ≠ 0). Every binary16 value is
///   exactly representable in Float32, so widening is exact.
/// - bfloat16 (`BF16`, Google Brain): the upper 16 bits of a binary32, so widening is a shift.
///
/// Narrowing rounds to nearest, ties to even (IEEE's default); overflow gives ±inf, NaN stays
/// NaN (quiet bit set, sign kept).
public enum HalfPrecision {
    /// The Float32 value of the binary16 bit pattern `bits`, exactly.
    @inline(__always)
    public static func float(fromFloat16Bits bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        let fraction = UInt32(bits & 0x03FF)
        if exponent == 0x1F {
            // inf or NaN: all-ones exponent, fraction moved to the top of binary32's.
            return Float(bitPattern: sign | 0x7F80_0000 | (fraction << 13))
        }
        if exponent == 0 {
            // ±0 or subnormal: fraction · 2^−24, exact in Float32.
            let magnitude = Float(fraction) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        // Normal: rebias the exponent from 15 to 127.
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (fraction << 13))
    }

    /// The Float32 value of the bfloat16 bit pattern `bits`, exactly.
    @inline(__always)
    public static func float(fromBFloat16Bits bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// The binary16 bit pattern nearest to `value` (ties to even; overflow to ±inf).
    public static func float16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x007F_FFFF
        if exponent == 0xFF {
            return sign | 0x7C00 | (mantissa == 0 ? 0 : 0x0200 | UInt16(mantissa >> 13))
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            // Subnormal (or zero) in binary16: value = m · 2^−24 with m = significand >> shift.
            if halfExponent < -10 { return sign }
            let significand = mantissa | 0x0080_0000
            let shift = UInt32(14 - halfExponent)
            let rounded = roundShiftRight(significand, by: shift)
            return sign | UInt16(rounded)  // a carry into 0x400 is the smallest normal, correctly
        }
        var half = (UInt32(halfExponent) << 10) | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }  // carry may reach inf
        return sign | UInt16(half)
    }

    /// The bfloat16 bit pattern nearest to `value` (ties to even; overflow to ±inf).
    public static func bfloat16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
        let lsb = (bits >> 16) & 1
        return UInt16((bits &+ 0x7FFF &+ lsb) >> 16)
    }

    /// x >> shift rounded to nearest, ties to even (shift ≥ 1).
    private static func roundShiftRight(_ x: UInt32, by shift: UInt32) -> UInt32 {
        let kept = x >> shift
        let remainder = x & ((1 << shift) - 1)
        let halfway: UInt32 = 1 << (shift - 1)
        if remainder > halfway || (remainder == halfway && kept & 1 == 1) { return kept + 1 }
        return kept
    }
}
