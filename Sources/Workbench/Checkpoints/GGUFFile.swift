import Foundation
import PEFTEngine

/// A GGUF file (ggml's model format, version 3; github.com/ggml-org/ggml docs/gguf.md) opened for
/// reading: its metadata and its tensors, dequantized to Float32 one at a time from a memory map.
///
/// Layout (little-endian): magic "GGUF", u32 version, u64 tensor count, u64 metadata count; the
/// metadata (string key, u32 value type, value); the tensor infos (string name, u32 n_dims,
/// n_dims × u64 dims with the innermost first, u32 type, u64 offset); then, at the next multiple
/// of `general.alignment` (default 32), the data section, each tensor at its offset into it (a
/// multiple of the alignment). A string is a u64 length and UTF-8 bytes; an array a u32 element
/// type, a u64 count and the elements.
///
/// Validation is as strict as the safetensors reader's: every length, count, dimension, type and
/// offset is checked against the file before use, so a damaged or hostile file is one
/// `GGUFError` naming the file, the key or tensor and the byte — never a crash or a huge allocation.
public final class GGUFFile {
    /// A metadata value.
    public indirect enum Value: Equatable, Sendable {
        case unsigned(UInt64), signed(Int64), float(Double), bool(Bool), string(String), array([Value])

        public var int: Int? {
            switch self {
            case .unsigned(let v): return v <= UInt64(Int.max) ? Int(v) : nil
            case .signed(let v): return Int(v)
            default: return nil
            }
        }
        public var double: Double? {
            switch self {
            case .float(let v): return v
            case .unsigned(let v): return Double(v)
            case .signed(let v): return Double(v)
            default: return nil
            }
        }
        public var string: String? { if case .string(let s) = self { return s } else { return nil } }
        public var strings: [String]? {
            guard case .array(let values) = self else { return nil }
            let out = values.compactMap(\.string)
            return out.count == values.count ? out : nil
        }
    }

    /// One tensor's entry.
    public struct TensorInfo: Equatable, Sendable {
        public var name: String
        /// ggml order: the innermost dimension first (`ne0`); `shape` is the row-major one.
        public var dimensions: [Int]
        public var type: GGMLType
        /// Byte offset of its data from the start of the file, and its length.
        public var offset: Int
        public var byteCount: Int
        public var count: Int { dimensions.reduce(1, *) }
        /// Row-major shape (outermost first): an HF [out, in] weight is stored as ne = [in, out].
        public var shape: [Int] { dimensions.reversed() }
    }

    public let path: String
    public let version: UInt32
    /// Metadata in file order.
    public let metadata: [(key: String, value: Value)]
    public let tensors: [TensorInfo]
    public let alignment: Int
    /// Where the data section starts.
    public let dataOffset: Int
    private let file: MappedFile
    private let byName: [String: Int]

    static let maxCount = 1 << 20
    static let maxDimensions = 4

    public init(path: String) throws {
        self.path = path
        do {
            file = try MappedFile(path: path)
        } catch let error as CheckpointError {
            throw GGUFError(path: path, what: "file", offset: nil, reason: error.description)
        }
        var reader = Reader(bytes: file.bytes, path: path)
        let magic = try reader.u32("header")
        guard magic == 0x4655_4747 else {
            throw GGUFError(path: path, what: "header", offset: 0, reason: "not a GGUF file (magic \(String(format: "0x%08x", magic)), expected \"GGUF\")")
        }
        version = try reader.u32("header")
        guard version == 3 else {
            throw GGUFError(path: path, what: "header", offset: 4, reason: "GGUF version \(version); the workbench reads version 3")
        }
        let tensorCount = try reader.count("tensor count", limit: Self.maxCount)
        let metadataCount = try reader.count("metadata count", limit: Self.maxCount)
        var metadata: [(key: String, value: Value)] = []
        var seen = Set<String>()
        for _ in 0..<metadataCount {
            let at = reader.position
            let key = try reader.string("metadata key")
            guard seen.insert(key).inserted else { throw GGUFError(path: path, what: "metadata key '\(key)'", offset: at, reason: "appears twice") }
            metadata.append((key, try reader.value(key: key, depth: 0)))
        }
        self.metadata = metadata
        let alignmentValue = metadata.first { $0.key == "general.alignment" }?.value
        let alignment = alignmentValue?.int ?? 32
        guard alignment > 0, alignment <= 1 << 16, alignment & (alignment - 1) == 0 else {
            throw GGUFError(path: path, what: "metadata key 'general.alignment'", offset: nil, reason: "\(alignmentValue.map { "\($0)" } ?? "") is not a power of two up to 65536")
        }
        self.alignment = alignment
        var infos: [(name: String, dims: [Int], type: GGMLType, offset: UInt64, at: Int)] = []
        var names = Set<String>()
        for _ in 0..<tensorCount {
            let at = reader.position
            let name = try reader.string("tensor name")
            guard names.insert(name).inserted else { throw GGUFError(path: path, what: "tensor '\(name)'", offset: at, reason: "appears twice") }
            let n = try reader.u32("tensor '\(name)'")
            guard n >= 1, n <= Self.maxDimensions else {
                throw GGUFError(path: path, what: "tensor '\(name)'", offset: at, reason: "\(n) dimensions; 1 to \(Self.maxDimensions) are allowed")
            }
            var dims: [Int] = []
            var product = 1
            for _ in 0..<n {
                let d = try reader.u64("tensor '\(name)'")
                guard d >= 1, d <= UInt64(Int32.max) else {
                    throw GGUFError(path: path, what: "tensor '\(name)'", offset: at, reason: "dimension \(d) is not in 1…\(Int32.max)")
                }
                let (p, overflow) = product.multipliedReportingOverflow(by: Int(d))
                guard !overflow, p <= file.bytes.count * 2 + 64 else {
                    throw GGUFError(path: path, what: "tensor '\(name)'", offset: at, reason: "\(dims + [Int(d)]) holds more values than the file can")
                }
                product = p
                dims.append(Int(d))
            }
            let type = GGMLType(raw: try reader.u32("tensor '\(name)'"))
            let offset = try reader.u64("tensor '\(name)'")
            infos.append((name, dims, type, offset, at))
        }
        let afterInfos = reader.position
        dataOffset = (afterInfos + alignment - 1) / alignment * alignment
        var tensors: [TensorInfo] = []
        for info in infos {
            let what = "tensor '\(info.name)'"
            guard info.type.isKnown else { throw GGUFError(path: path, what: what, offset: info.at, reason: "unknown tensor type \(info.type.raw)") }
            guard info.offset % UInt64(alignment) == 0 else {
                throw GGUFError(path: path, what: what, offset: info.at, reason: "data offset \(info.offset) is not a multiple of the alignment \(alignment)")
            }
            let count = info.dims.reduce(1, *)
            var byteCount = 0
            if let layout = info.type.layout {
                guard info.dims[0] % layout.blockValues == 0 else {
                    throw GGUFError(path: path, what: what, offset: info.at, reason: "\(info.type) needs rows of a multiple of \(layout.blockValues) values, has \(info.dims[0])")
                }
                byteCount = count / layout.blockValues * layout.blockBytes
            }
            guard info.offset <= UInt64(file.bytes.count), dataOffset + Int(info.offset) + byteCount <= file.bytes.count else {
                throw GGUFError(path: path, what: what, offset: info.at,
                                reason: "data at \(info.offset) + \(byteCount) bytes runs past the end of the file (\(file.bytes.count - min(dataOffset, file.bytes.count)) data bytes)")
            }
            tensors.append(TensorInfo(name: info.name, dimensions: info.dims, type: info.type, offset: dataOffset + Int(info.offset), byteCount: byteCount))
        }
        // Known-size tensors must not overlap.
        let sized = tensors.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
        for (a, b) in zip(sized, sized.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw GGUFError(path: path, what: "tensor '\(b.name)'", offset: nil, reason: "its data begins inside '\(a.name)'")
        }
        self.tensors = tensors
        byName = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    /// A metadata value by key.
    public func value(_ key: String) -> Value? { metadata.first { $0.key == key }?.value }

    public func info(_ name: String) -> TensorInfo? { byName[name].map { tensors[$0] } }

    /// The tensor `name`, dequantized to Float32, in row-major shape.
    ///
    /// - Throws: `GGUFError` for a missing tensor or a type the workbench does not read (the
    ///   K-quants and i-quants, named).
    public func tensor(named name: String) throws -> Tensor {
        guard let info = info(name) else { throw GGUFError(path: path, what: "tensor '\(name)'", offset: nil, reason: "no such tensor") }
        guard info.type.isReadable else {
            throw GGUFError(path: path, what: "tensor '\(name)'", offset: nil,
                            reason: "type \(info.type) is not supported; the workbench reads F32, F16, BF16, Q8_0, Q4_0 and Q4_1")
        }
        var values = [Float](repeating: 0, count: info.count)
        values.withUnsafeMutableBufferPointer { out in
            info.type.dequantize(UnsafeRawBufferPointer(rebasing: file.bytes[info.offset..<(info.offset + info.byteCount)]),
                                 count: info.count, into: out.baseAddress!)
        }
        return Tensor(shape: info.shape, storage: values)
    }

    /// Bounds-checked little-endian reading of the header.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        let path: String
        var position = 0

        mutating func take(_ n: Int, _ what: String) throws -> Int {
            guard n >= 0, n <= bytes.count - position else {
                throw GGUFError(path: path, what: what, offset: position, reason: "truncated: needs \(n) more bytes, the file has \(bytes.count - position)")
            }
            defer { position += n }
            return position
        }
        mutating func u8(_ what: String) throws -> UInt8 { bytes[try take(1, what)] }
        mutating func u32(_ what: String) throws -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(4, what), as: UInt32.self)) }
        mutating func u64(_ what: String) throws -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(8, what), as: UInt64.self)) }
        mutating func count(_ what: String, limit: Int) throws -> Int {
            let at = position
            let n = try u64(what)
            guard n <= UInt64(limit) else { throw GGUFError(path: path, what: what, offset: at, reason: "\(n) is more than \(limit)") }
            return Int(n)
        }
        mutating func string(_ what: String) throws -> String {
            let at = position
            let n = try u64(what)
            guard n <= UInt64(bytes.count - position) else {
                throw GGUFError(path: path, what: what, offset: at, reason: "string of \(n) bytes runs past the end of the file")
            }
            let start = try take(Int(n), what)
            guard let s = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + Int(n))]), as: UTF8.self) else {
                throw GGUFError(path: path, what: what, offset: at, reason: "not valid UTF-8")
            }
            return s
        }
        mutating func value(key: String, depth: Int) throws -> Value {
            let what = "metadata key '\(key)'"
            let at = position
            let type = try u32(what)
            return try value(type: type, key: key, depth: depth, at: at)
        }
        mutating func value(type: UInt32, key: String, depth: Int, at: Int) throws -> Value {
            let what = "metadata key '\(key)'"
            switch type {
            case 0: return .unsigned(UInt64(try u8(what)))
            case 1: return .signed(Int64(Int8(bitPattern: try u8(what))))
            case 2: return .unsigned(UInt64(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(2, what), as: UInt16.self))))
            case 3: return .signed(Int64(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(2, what), as: Int16.self))))
            case 4: return .unsigned(UInt64(try u32(what)))
            case 5: return .signed(Int64(Int32(bitPattern: try u32(what))))
            case 6: return .float(Double(Float(bitPattern: try u32(what))))
            case 7:
                let b = try u8(what)
                guard b <= 1 else { throw GGUFError(path: path, what: what, offset: position - 1, reason: "bool byte \(b) is neither 0 nor 1") }
                return .bool(b == 1)
            case 8: return .string(try string(what))
            case 9:
                guard depth == 0 else { throw GGUFError(path: path, what: what, offset: at, reason: "an array inside an array") }
                let elementType = try u32(what)
                let n = try count(what, limit: bytes.count)
                var values: [Value] = []
                values.reserveCapacity(min(n, 1 << 16))
                for _ in 0..<n { values.append(try value(type: elementType, key: key, depth: depth + 1, at: position)) }
                return .array(values)
            case 10: return .unsigned(try u64(what))
            case 11: return .signed(Int64(bitPattern: try u64(what)))
            case 12: return .float(Double(bitPattern: try u64(what)))
            default: throw GGUFError(path: path, what: what, offset: at, reason: "unknown value type \(type)")
            }
        }
    }
}
