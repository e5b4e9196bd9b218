import PEFTEngine

/// A tensor type of ggml's GGUF files, by its number in the format, and the dequantization of
/// the ones the workbench reads (the layouts of ggml-quants.c, checked against `gguf.quants`):
///
///     F32   4-byte float                     F16, BF16   2-byte half floats, widened exactly
///     Q8_0  blocks of 32: f16 d, 32 × int8 q          x = q·d
///     Q4_0  blocks of 32: f16 d, 16 bytes             x_j = (lo_j − 8)·d, x_{j+16} = (hi_j − 8)·d
///     Q4_1  blocks of 32: f16 d, f16 m, 16 bytes      x_j = lo_j·d + m,  x_{j+16} = hi_j·d + m
///
/// (lo_j, hi_j: the low and high nibble of byte j.) The K-quants and i-quants are known by name
/// and refused as unsupported.
public struct GGMLType: Equatable, Sendable, CustomStringConvertible {
    public let raw: UInt32

    public static let f32 = GGMLType(raw: 0), f16 = GGMLType(raw: 1), q4_0 = GGMLType(raw: 2), q4_1 = GGMLType(raw: 3)
    public static let q8_0 = GGMLType(raw: 8), bf16 = GGMLType(raw: 30)

    static let names: [UInt32: String] = [
        0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 6: "Q5_0", 7: "Q5_1", 8: "Q8_0", 9: "Q8_1", 10: "Q2_K", 11: "Q3_K",
        12: "Q4_K", 13: "Q5_K", 14: "Q6_K", 15: "Q8_K", 16: "IQ2_XXS", 17: "IQ2_XS", 18: "IQ3_XXS", 19: "IQ1_S", 20: "IQ4_NL",
        21: "IQ3_S", 22: "IQ2_S", 23: "IQ4_XS", 24: "I8", 25: "I16", 26: "I32", 27: "I64", 28: "F64", 29: "IQ1_M", 30: "BF16",
        34: "TQ1_0", 35: "TQ2_0", 39: "MXFP4",
    ]

    public var description: String { Self.names[raw] ?? "type \(raw)" }

    /// Values per block and bytes per block (ggml's `ggml_type_traits`), for the types whose size
    /// is fixed: every tensor's extent is checked against the file, readable or not.
    public var layout: (blockValues: Int, blockBytes: Int)? {
        switch raw {
        case 0: return (1, 4)
        case 1, 30: return (1, 2)
        case 8: return (32, 34)
        case 2: return (32, 18)
        case 3: return (32, 20)
        case 6: return (32, 22)
        case 7: return (32, 24)
        case 9: return (32, 36)
        case 10: return (256, 84)
        case 11: return (256, 110)
        case 12: return (256, 144)
        case 13: return (256, 176)
        case 14: return (256, 210)
        case 15: return (256, 292)
        case 24: return (1, 1)
        case 25: return (1, 2)
        case 26: return (1, 4)
        case 27, 28: return (1, 8)
        default: return nil
        }
    }

    /// Whether the workbench dequantizes this type (F32, F16, BF16, Q8_0, Q4_0, Q4_1).
    public var isReadable: Bool { [0, 1, 30, 8, 2, 3].contains(raw) }

    /// Whether ggml knows the type at all (a number outside the table is a damaged file).
    public var isKnown: Bool { Self.names[raw] != nil }

    /// Dequantizes `count` values from `bytes` (exactly count / blockValues blocks).
    func dequantize(_ bytes: UnsafeRawBufferPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        func half(_ at: Int) -> Float { HalfPrecision.float(fromFloat16Bits: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: UInt16.self))) }
        switch raw {
        case 0:
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case 1:
            for i in 0..<count { out[i] = half(2 * i) }
        case 30:
            for i in 0..<count { out[i] = HalfPrecision.float(fromBFloat16Bits: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case 8:
            for b in 0..<(count / 32) {
                let base = 34 * b, d = half(base)
                for j in 0..<32 { out[32 * b + j] = Float(Int8(bitPattern: bytes[base + 2 + j])) * d }
            }
        case 2:
            for b in 0..<(count / 32) {
                let base = 18 * b, d = half(base)
                for j in 0..<16 {
                    let byte = bytes[base + 2 + j]
                    out[32 * b + j] = Float(Int8(byte & 0x0F) - 8) * d
                    out[32 * b + j + 16] = Float(Int8(byte >> 4) - 8) * d
                }
            }
        case 3:
            for b in 0..<(count / 32) {
                let base = 20 * b, d = half(base), m = half(base + 2)
                for j in 0..<16 {
                    let byte = bytes[base + 4 + j]
                    out[32 * b + j] = Float(byte & 0x0F) * d + m
                    out[32 * b + j + 16] = Float(byte >> 4) * d + m
                }
            }
        default:
            preconditionFailure("GGMLType.dequantize: \(self) has no layout (checked when the file was opened)")
        }
    }
}
