import Foundation
import Testing
@testable import Workbench

/// F16 / BF16 ↔ Float32 conversions: known bit patterns, every binary16 pattern against the
/// format's defining formula, and round-to-nearest-even narrowing.
@Suite("Checkpoint half precision")
struct CheckpointHalfPrecisionTests {
    static let float16Known: [(UInt16, Float)] = [
        (0x3C00, 1), (0xC000, -2), (0x7BFF, 65504), (0x0001, 0x1p-24), (0x03FF, 1023 * 0x1p-24),
        (0x0400, 0x1p-14), (0x3555, 0.333251953125), (0x0000, 0), (0x7C00, Float.infinity), (0xFC00, -Float.infinity),
    ]

    @Test(arguments: float16Known)
    func float16KnownPatterns(bits: UInt16, value: Float) {
        #expect(HalfPrecision.float(fromFloat16Bits: bits) == value, "0x\(String(bits, radix: 16))")
    }

    @Test func float16NaNAndNegativeZero() {
        #expect(HalfPrecision.float(fromFloat16Bits: 0x7E00).isNaN)
        #expect(HalfPrecision.float(fromFloat16Bits: 0xFC01).isNaN)
        let negativeZero = HalfPrecision.float(fromFloat16Bits: 0x8000)
        #expect(negativeZero == 0 && negativeZero.sign == .minus)
    }

    /// (−1)^s · 2^(e−15) · (1 + f/1024) for 0 < e < 31, (−1)^s · 2^−14 · f/1024 for e = 0.
    @Test func everyFiniteFloat16PatternMatchesTheDefinition() {
        for raw in 0...0xFFFF {
            let bits = UInt16(raw)
            let s = bits >> 15, e = Int((bits >> 10) & 0x1F), f = Double(bits & 0x3FF)
            if e == 31 { continue }
            let magnitude = e == 0 ? f / 1024 * pow(2, -14) : (1 + f / 1024) * pow(2, Double(e - 15))
            let expected = s == 1 ? -magnitude : magnitude
            let actual = HalfPrecision.float(fromFloat16Bits: bits)
            if Double(actual) != expected || actual.sign != (s == 1 ? .minus : .plus) {
                Issue.record("0x\(String(bits, radix: 16)): got \(actual), expected \(expected)")
                return
            }
        }
    }

    @Test func narrowingToFloat16InvertsWideningForEveryNonNaNPattern() {
        for raw in 0...0xFFFF {
            let bits = UInt16(raw)
            let value = HalfPrecision.float(fromFloat16Bits: bits)
            if value.isNaN { continue }
            if HalfPrecision.float16Bits(from: value) != bits {
                Issue.record("0x\(String(bits, radix: 16)) → \(value) → 0x\(String(HalfPrecision.float16Bits(from: value), radix: 16))")
                return
            }
        }
    }

    static let float16Rounding: [(Float, UInt16)] = [
        (1 + 0x1p-11, 0x3C00),      // halfway between 1 and 1 + 2⁻¹⁰: ties to even (down)
        (1 + 3 * 0x1p-11, 0x3C02),          // halfway, odd below: ties to even (up)
        (1 + 0x1p-11 + 0x1p-20, 0x3C01),    // just above halfway: up
        (65519, 0x7BFF), (65520, 0x7C00),          // 65520 is halfway to 2¹⁶: rounds to even, inf
        (1e10, 0x7C00), (-1e10, 0xFC00),
        (0x1p-25, 0x0000), (0x1p-25 + 0x1p-40, 0x0001), (3 * 0x1p-25, 0x0002),  // subnormal ties
        (1e-30, 0x0000), (-1e-30, 0x8000),
    ]

    @Test(arguments: float16Rounding)
    func narrowingToFloat16RoundsToNearestEven(value: Float, bits: UInt16) {
        #expect(HalfPrecision.float16Bits(from: value) == bits, "\(value)")
    }

    #if arch(x86_64) || arch(arm64)
    #if !os(macOS)
    /// Swift's own `Float16` conversion (IEEE round-to-nearest-even) as an independent reference.
    @Test func narrowingToFloat16AgreesWithSwiftFloat16() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<20_000 {
            let value = Float(bitPattern: UInt32.random(in: 0x2000_0000...0x4800_0000, using: &rng)) * (Bool.random() ? 1 : -1)
            #expect(HalfPrecision.float16Bits(from: value) == Float16(value).bitPattern, "\(value)")
        }
    }
    #endif
    #endif

    static let bfloat16Known: [(UInt16, Float)] = [
        (0x3F80, 1), (0x4049, 3.140625), (0xC000, -2), (0x0000, 0), (0xFF80, -Float.infinity),
        (0x7F7F, Float(bitPattern: 0x7F7F_0000)), (0x0001, 0x1p-133),
    ]

    @Test(arguments: bfloat16Known)
    func bfloat16KnownPatterns(bits: UInt16, value: Float) {
        #expect(HalfPrecision.float(fromBFloat16Bits: bits) == value, "0x\(String(bits, radix: 16))")
    }

    @Test func narrowingToBFloat16RoundsToNearestEven() {
        #expect(HalfPrecision.bfloat16Bits(from: 1 + 0x1p-8) == 0x3F80)      // tie, even below
        #expect(HalfPrecision.bfloat16Bits(from: 1 + 3 * 0x1p-8) == 0x3F82)  // tie, odd below
        #expect(HalfPrecision.bfloat16Bits(from: 1 + 0x1p-8 + 0x1p-20) == 0x3F81)
        #expect(HalfPrecision.bfloat16Bits(from: .pi) == 0x4049)
        #expect(HalfPrecision.bfloat16Bits(from: .greatestFiniteMagnitude) == 0x7F80)  // overflow → inf
        #expect(HalfPrecision.float(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: .nan)).isNaN)
    }
}
