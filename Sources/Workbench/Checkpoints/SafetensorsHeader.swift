import Foundation

/// One tensor's header entry: dtype, shape and its byte range within the data section.
public struct SafetensorsTensorInfo: Equatable, Sendable {
    public let name: String
    public let dtype: SafetensorsDType
    /// Extents, outermost first (row-major data, last index fastest).
    public let shape: [Int]
    /// `data_offsets` [begin, end), relative to the first byte after the header.
    public let byteRange: Range<Int>
    /// product(shape); 1 for a scalar (`[]`).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// The parsed and validated header of a safetensors file.
///
/// Layout: 8-byte little-endian UInt64 N, N bytes of UTF-8 JSON, then the data section. The JSON
/// object maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}, plus an
/// optional "__metadata__" object of string → string.
///
/// Validation mirrors the reference reader (huggingface/safetensors `SafeTensors::read_metadata`
/// and `validate`): N ≤ `maximumHeaderLength` and N ≤ file size − 8; the header is UTF-8 and
/// begins with '{'; every entry is well typed; sorted by offset, the ranges start at 0 and each
/// begins exactly where the previous ended (no overlap, no gap); end − begin equals
/// product(shape) × dtype size; the last end equals the data section's size (the file is neither
/// truncated nor padded at the end).
struct SafetensorsHeader {
    /// Upper bound on N, as in the reference reader (100 MB).
    static let maximumHeaderLength = 100_000_000

    let tensors: [String: SafetensorsTensorInfo]
    let metadata: [String: String]
    /// Byte offset of the data section in the file: 8 + N.
    let dataStart: Int

    /// Parses and validates the header of the file whose bytes are `bytes`.
    init(bytes: UnsafeRawBufferPointer, path: String) throws {
        guard bytes.count >= 8 else {
            throw CheckpointError.truncated(path: path, needed: 8, actual: bytes.count)
        }
        let length = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard length <= UInt64(Self.maximumHeaderLength) else {
            throw CheckpointError.headerTooLarge(path: path, length: length, limit: Self.maximumHeaderLength)
        }
        guard length <= UInt64(bytes.count - 8) else {
            throw CheckpointError.headerLengthExceedsFile(path: path, length: length, available: bytes.count - 8)
        }
        let n = Int(length)
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<(8 + n)])
        guard String(validating: headerBytes, as: UTF8.self) != nil else {
            throw CheckpointError.headerNotUTF8(path: path)
        }
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw CheckpointError.invalidJSON(path: path, detail: "the header does not begin with '{'")
        }
        let object: [String: CheckpointJSON]
        do {
            guard let parsed = try CheckpointJSON.parse(Data(headerBytes)).objectValue else {
                throw CheckpointError.invalidJSON(path: path, detail: "top level is not an object")
            }
            object = parsed
        } catch let error as CheckpointError {
            throw error
        } catch {
            throw CheckpointError.invalidJSON(path: path, detail: "\(error)")
        }

        var metadata: [String: String] = [:]
        var tensors: [String: SafetensorsTensorInfo] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                metadata = try Self.parseMetadata(value, path: path)
            } else {
                tensors[name] = try Self.parseEntry(name: name, value, path: path)
            }
        }
        dataStart = 8 + n
        try Self.validateLayout(tensors, dataStart: dataStart, fileSize: bytes.count, path: path)
        self.tensors = tensors
        self.metadata = metadata
    }

    private static func parseMetadata(_ value: CheckpointJSON, path: String) throws -> [String: String] {
        guard let dictionary = value.objectValue else {
            throw CheckpointError.invalidMetadata(path: path, key: "__metadata__", detail: "is not an object")
        }
        var result: [String: String] = [:]
        for (key, item) in dictionary {
            guard let text = item.stringValue else {
                throw CheckpointError.invalidMetadata(path: path, key: key, detail: "value is \(item.typeName), not a string")
            }
            result[key] = text
        }
        return result
    }

    /// A non-negative JSON integer, or nil.
    static func integer(_ value: CheckpointJSON) -> Int? {
        guard let v = value.integerValue, v >= 0 else { return nil }
        return v
    }

    private static func parseEntry(name: String, _ value: CheckpointJSON, path: String) throws -> SafetensorsTensorInfo {
        guard let entry = value.objectValue else {
            throw CheckpointError.invalidEntry(path: path, tensor: name, detail: "entry is not an object")
        }
        guard let dtypeName = entry["dtype"]?.stringValue else {
            throw CheckpointError.invalidEntry(path: path, tensor: name, detail: "missing or non-string 'dtype'")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw CheckpointError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let shapeValues = entry["shape"]?.arrayValue else {
            throw CheckpointError.invalidEntry(path: path, tensor: name, detail: "missing or non-array 'shape'")
        }
        let shape = shapeValues.compactMap(integer)
        guard shape.count == shapeValues.count else {
            throw CheckpointError.invalidEntry(path: path, tensor: name, detail: "'shape' holds a non-integer or negative extent")
        }
        guard let offsetValues = entry["data_offsets"]?.arrayValue, offsetValues.count == 2,
              let begin = integer(offsetValues[0]), let end = integer(offsetValues[1]) else {
            throw CheckpointError.invalidEntry(
                path: path, tensor: name, detail: "'data_offsets' is not an array of two non-negative integers")
        }
        guard begin <= end else {
            throw CheckpointError.invalidEntry(path: path, tensor: name, detail: "data_offsets end \(end) < begin \(begin)")
        }
        var elements = 1
        for extent in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
            guard !overflow else {
                throw CheckpointError.invalidEntry(path: path, tensor: name, detail: "shape \(shape) overflows")
            }
            elements = product
        }
        guard let expected = dtype.byteCount(elements: elements), expected == end - begin else {
            throw CheckpointError.wrongByteCount(
                path: path, tensor: name, dtype: dtypeName, shape: shape,
                expected: dtype.byteCount(elements: elements) ?? -1, actual: end - begin)
        }
        return SafetensorsTensorInfo(name: name, dtype: dtype, shape: shape, byteRange: begin..<end)
    }

    /// Sorted by (begin, end, name), ranges must tile [0, dataSize) exactly.
    private static func validateLayout(
        _ tensors: [String: SafetensorsTensorInfo], dataStart: Int, fileSize: Int, path: String
    ) throws {
        let dataSize = fileSize - dataStart
        let ordered = tensors.values.sorted {
            ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name)
                < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name)
        }
        var end = 0
        var previous = ""
        for info in ordered {
            if info.byteRange.lowerBound < end {
                throw CheckpointError.overlappingOffsets(
                    path: path, tensor: info.name, previous: previous,
                    begin: info.byteRange.lowerBound, previousEnd: end)
            }
            if info.byteRange.lowerBound > end {
                throw CheckpointError.gapInData(path: path, tensor: info.name, begin: info.byteRange.lowerBound, expected: end)
            }
            end = info.byteRange.upperBound
            previous = info.name
        }
        if end > dataSize {
            throw CheckpointError.truncated(path: path, needed: dataStart + end, actual: fileSize)
        }
        if end < dataSize {
            throw CheckpointError.trailingBytes(path: path, dataEnd: end, dataSize: dataSize)
        }
    }
}
