/// The element types a safetensors header may name, with their storage width.
///
/// Names and widths follow the format's reference implementation (huggingface/safetensors,
/// `Dtype`): sub-byte types (F4, F6_*) are counted in bits, so a tensor's byte count is
/// product(shape) × bits / 8. The workbench converts only `F32`, `F16` and `BF16` to Float32;
/// the others parse and validate, and reading them throws `CheckpointError.unsupportedDType`.
public enum SafetensorsDType: String, CaseIterable, Sendable {
    case bool = "BOOL"
    case f4 = "F4"
    case f6E2M3 = "F6_E2M3"
    case f6E3M2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"

    /// Storage width of one element in bits.
    public var bits: Int {
        switch self {
        case .f4: return 4
        case .f6E2M3, .f6E3M2: return 6
        case .bool, .u8, .i8, .f8E5M2, .f8E4M3, .f8E8M0: return 8
        case .i16, .u16, .f16, .bf16: return 16
        case .i32, .u32, .f32: return 32
        case .c64, .f64, .i64, .u64: return 64
        }
    }

    /// Whether `SafetensorsFile.tensor(named:)` converts this dtype to Float32.
    public var isReadable: Bool { self == .f32 || self == .f16 || self == .bf16 }

    /// Bytes for `count` elements, or nil when the bits do not fill whole bytes.
    func byteCount(elements count: Int) -> Int? {
        let (total, overflow) = count.multipliedReportingOverflow(by: bits)
        if overflow || total % 8 != 0 { return nil }
        return total / 8
    }
}
