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
/// optional "__metadata__" object of string → string (or null).
///
/// A header is accepted exactly when the reference reader accepts it (huggingface/safetensors
/// 0.8, `SafeTensors::read_metadata` and `validate`; checked case by case against it in
/// `CheckpointSafetensorsHeaderRulesTests`): N ≤ `maximumHeaderLength` and N ≤ file size − 8;
/// the header is UTF-8 and JSON by serde_json's rules (`StrictJSON`: white space may surround
/// it, `16.0` is not an integer); a tensor's fields `dtype`, `shape` and `data_offsets` appear
/// once each (others are ignored); a tensor named twice keeps its last entry, "__metadata__"
/// may appear once; sorted by offset, the ranges start at 0 and each begins exactly where the
/// previous ended; end − begin equals product(shape) × dtype bits / 8 (whole bytes); the last end
/// equals the data section's size. One divergence: an extent above 2⁶³ − 1 (valid for the
/// reference on 64-bit machines only when another extent is 0) is refused.
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
        let parsed: StrictJSON
        do {
            parsed = try StrictJSON.parse(headerBytes)
        } catch {
            throw CheckpointError.invalidJSON(path: path, detail: "\(error)")
        }
        guard case .object(let entries) = parsed else {
            throw CheckpointError.invalidJSON(path: path, detail: "the header is \(parsed.typeName), not an object")
        }

        var metadata: [String: String]?
        var tensors: [String: SafetensorsTensorInfo] = [:]
        for entry in entries {
            if entry.key == "__metadata__" {
                guard metadata == nil else {
                    throw CheckpointError.invalidJSON(path: path, detail: "\"__metadata__\" appears twice")
                }
                metadata = try Self.parseMetadata(entry.value, path: path)
            } else {
                // Like the reference, every entry must be valid; a name given twice keeps the last.
                tensors[entry.key] = try Self.parseEntry(name: entry.key, entry.value, path: path)
            }
        }
        dataStart = 8 + n
        try Self.validateLayout(tensors, dataStart: dataStart, fileSize: bytes.count, path: path)
        self.tensors = tensors
        self.metadata = metadata ?? [:]
    }

    private static func parseMetadata(_ value: StrictJSON, path: String) throws -> [String: String] {
        if value == .null { return [:] }
        guard case .object(let entries) = value else {
            throw CheckpointError.invalidMetadata(path: path, key: "__metadata__", detail: "is \(value.typeName), not an object")
        }
        var result: [String: String] = [:]
        for entry in entries {
            guard case .string(let text) = entry.value else {
                throw CheckpointError.invalidMetadata(path: path, key: entry.key, detail: "value is \(entry.value.typeName), not a string")
            }
            result[entry.key] = text
        }
        return result
    }

    /// A JSON integer in 0...Int.max, or nil.
    static func integer(_ value: StrictJSON) -> Int? {
        guard case .unsigned(let v) = value, v <= UInt64(Int.max) else { return nil }
        return Int(v)
    }

    private static func parseEntry(name: String, _ value: StrictJSON, path: String) throws -> SafetensorsTensorInfo {
        guard case .object(let entries) = value else {
            throw CheckpointError.invalidEntry(path: path, tensor: name, detail: "entry is \(value.typeName), not an object")
        }
        var fields: [String: StrictJSON] = [:]
        for entry in entries where ["dtype", "shape", "data_offsets"].contains(entry.key) {
            guard fields[entry.key] == nil else {
                throw CheckpointError.invalidEntry(path: path, tensor: name, detail: "'\(entry.key)' appears twice")
            }
            fields[entry.key] = entry.value
        }
        guard case .string(let dtypeName)? = fields["dtype"] else {
            throw CheckpointError.invalidEntry(path: path, tensor: name, detail: "missing or non-string 'dtype'")
        }
        guard let dtype = SafetensorsDType(rawValue: dtypeName) else {
            throw CheckpointError.unknownDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard case .array(let shapeValues)? = fields["shape"] else {
            throw CheckpointError.invalidEntry(path: path, tensor: name, detail: "missing or non-array 'shape'")
        }
        let shape = shapeValues.compactMap(integer)
        guard shape.count == shapeValues.count else {
            throw CheckpointError.invalidEntry(
                path: path, tensor: name, detail: "'shape' holds an extent that is not an integer in 0…\(Int.max) (written as 16, not 16.0)")
        }
        guard case .array(let offsetValues)? = fields["data_offsets"], offsetValues.count == 2,
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
