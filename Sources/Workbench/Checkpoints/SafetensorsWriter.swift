import Foundation
import PEFTEngine
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes Float32 tensors to a safetensors file, stored as F32, F16 or BF16.
///
/// Tensors are laid out in name order, contiguous from data offset 0; the JSON header is padded
/// with spaces to a multiple of 8 bytes (as the reference writer does) so F32 data is aligned.
/// F16/BF16 narrowing rounds to nearest, ties to even (`HalfPrecision`). The file is written to a
/// temporary name in the same folder, fsynced, then renamed over `path`: a reader never sees a
/// partial file.
public struct SafetensorsWriter {
    /// Dtypes the writer can store.
    public static let writableDTypes: Set<SafetensorsDType> = [.f32, .f16, .bf16]

    /// Written as `__metadata__` (omitted when empty).
    public var metadata: [String: String]
    private var entries: [String: (tensor: Tensor, dtype: SafetensorsDType)] = [:]

    public init(metadata: [String: String] = [:]) {
        self.metadata = metadata
    }

    /// Adds (or replaces) `name`. `dtype` must be F32, F16 or BF16.
    public mutating func add(_ name: String, _ tensor: Tensor, as dtype: SafetensorsDType = .f32) {
        precondition(Self.writableDTypes.contains(dtype), "SafetensorsWriter: cannot store \(dtype.rawValue) for '\(name)'")
        precondition(name != "__metadata__", "SafetensorsWriter: '__metadata__' is reserved")
        entries[name] = (tensor, dtype)
    }

    /// The header JSON (padded) and each tensor's byte range, in file order.
    func layout() throws -> (header: [UInt8], order: [String]) {
        var object: [String: Any] = [:]
        var offset = 0
        let order = entries.keys.sorted()
        for name in order {
            let (tensor, dtype) = entries[name]!
            let size = tensor.count * dtype.bits / 8
            object[name] = ["dtype": dtype.rawValue, "shape": tensor.shape, "data_offsets": [offset, offset + size]]
            offset += size
        }
        if !metadata.isEmpty { object["__metadata__"] = metadata }
        var header = [UInt8](try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        while header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        return (header, order)
    }

    /// Writes the file atomically (temporary file, fsync, rename).
    public func write(to path: String) throws {
        let (header, order) = try layout()
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())").path
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CheckpointError.writeFailed(path: path, detail: String(cString: strerror(errno))) }
        var closed = false
        defer {
            if !closed { close(fd); unlink(temporary) }
        }
        var length = UInt64(header.count).littleEndian
        try withUnsafeBytes(of: &length) { try Self.writeAll(fd, $0, path: path) }
        try header.withUnsafeBytes { try Self.writeAll(fd, $0, path: path) }
        for name in order {
            let (tensor, dtype) = entries[name]!
            let bytes = Self.encode(tensor.storage, as: dtype)
            try bytes.withUnsafeBytes { try Self.writeAll(fd, $0, path: path) }
        }
        guard fsync(fd) == 0 else { throw CheckpointError.writeFailed(path: path, detail: "fsync: \(String(cString: strerror(errno)))") }
        close(fd)
        closed = true
        guard rename(temporary, path) == 0 else {
            let detail = String(cString: strerror(errno))
            unlink(temporary)
            throw CheckpointError.writeFailed(path: path, detail: "rename: \(detail)")
        }
    }

    /// Little-endian bytes of `values` stored as `dtype`.
    static func encode(_ values: [Float], as dtype: SafetensorsDType) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: values.count * dtype.bits / 8)
        values.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBytes { o in
                switch dtype {
                case .f32:
                    for i in 0..<v.count { o.storeBytes(of: v[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self) }
                case .f16:
                    for i in 0..<v.count {
                        o.storeBytes(of: HalfPrecision.float16Bits(from: v[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    }
                case .bf16:
                    for i in 0..<v.count {
                        o.storeBytes(of: HalfPrecision.bfloat16Bits(from: v[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
                    }
                default:
                    preconditionFailure("SafetensorsWriter: cannot store \(dtype.rawValue)")
                }
            }
        }
        return out
    }

    private static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var written = 0
        while written < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                throw CheckpointError.writeFailed(path: path, detail: String(cString: strerror(errno)))
            }
            written += n
        }
    }
}
