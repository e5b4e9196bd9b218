import PEFTEngine

/// A safetensors file, memory-mapped and with its header validated on open.
///
/// Opening maps the file (no read of the data section) and validates the header as
/// `SafetensorsHeader` describes; `tensor(named:)` converts one tensor to Float32 from the mapped
/// bytes (little-endian, row-major). F32, F16 (IEEE binary16) and BF16 are read; every other
/// dtype parses but throws `CheckpointError.unsupportedDType` when read.
public final class SafetensorsFile: TensorSource, @unchecked Sendable {
    public let path: String
    /// Every tensor name, sorted.
    public let names: [String]
    /// The header's `__metadata__` (empty when absent).
    public let metadata: [String: String]
    /// Size of the file in bytes.
    public var fileSize: Int { mapping.bytes.count }

    private let mapping: MappedFile
    private let header: SafetensorsHeader

    /// Maps and validates `path`; throws a `CheckpointError` naming the file and the entry at fault.
    public init(path: String) throws {
        self.path = path
        mapping = try MappedFile(path: path)
        header = try SafetensorsHeader(bytes: mapping.bytes, path: path)
        names = header.tensors.keys.sorted()
        metadata = header.metadata
    }

    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let info = header.tensors[name] else { throw CheckpointError.tensorNotFound(path: path, tensor: name) }
        return info
    }

    public func contains(_ name: String) -> Bool { header.tensors[name] != nil }

    public func tensor(named name: String) throws -> Tensor {
        let info = try info(name)
        guard info.dtype.isReadable else {
            throw CheckpointError.unsupportedDType(path: path, tensor: name, dtype: info.dtype.rawValue)
        }
        let start = header.dataStart + info.byteRange.lowerBound
        let source = UnsafeRawBufferPointer(rebasing: mapping.bytes[start..<(header.dataStart + info.byteRange.upperBound)])
        var storage = [Float](repeating: 0, count: info.elementCount)
        storage.withUnsafeMutableBufferPointer { destination in
            Self.convert(source, dtype: info.dtype, into: destination)
        }
        return Tensor(shape: info.shape, storage: storage)
    }

    /// Widens little-endian `dtype` elements in `source` to Float32: one plain loop per dtype,
    /// unaligned loads (the data section need not be aligned to the element size).
    static func convert(_ source: UnsafeRawBufferPointer, dtype: SafetensorsDType, into out: UnsafeMutableBufferPointer<Float>) {
        switch dtype {
        case .f32:
            for i in 0..<out.count {
                out[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        case .f16:
            for i in 0..<out.count {
                out[i] = HalfPrecision.float(
                    fromFloat16Bits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .bf16:
            for i in 0..<out.count {
                out[i] = HalfPrecision.float(
                    fromBFloat16Bits: UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        default:
            preconditionFailure("SafetensorsFile.convert: \(dtype.rawValue) is not readable")
        }
    }
}
