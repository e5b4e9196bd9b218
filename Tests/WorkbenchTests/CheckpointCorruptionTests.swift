import Foundation
import Testing
@testable import Workbench

/// Every malformed file gets its own error, naming the file and the tensor or key at fault.
@Suite("Checkpoint corrupted files")
struct CheckpointCorruptionTests {
    static func open(_ bytes: [UInt8], in folder: URL) throws -> (String, CheckpointError?) {
        let path = try writeBytes(bytes, to: "bad.safetensors", in: folder)
        return (path, checkpointError { _ = try SafetensorsFile(path: path) })
    }

    static let twoFloats = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#

    @Test func missingFile() {
        let path = "/nonexistent/model.safetensors"
        #expect(checkpointError { _ = try SafetensorsFile(path: path) } == .missingFile(path: path))
    }

    @Test func fileShorterThanTheLengthField() throws {
        try withTemporaryFolder { folder in
            let (path, error) = try Self.open([1, 2, 3], in: folder)
            #expect(error == .truncated(path: path, needed: 8, actual: 3))
        }
    }

    @Test func truncatedData() throws {
        try withTemporaryFolder { folder in
            var writer = SafetensorsWriter()
            writer.add("w", patternedTensor([4, 4]))
            let good = folder.appendingPathComponent("good.safetensors").path
            try writer.write(to: good)
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: good)))
            let (path, error) = try Self.open(Array(bytes.dropLast(4)), in: folder)
            #expect(error == .truncated(path: path, needed: bytes.count, actual: bytes.count - 4))
            #expect(error?.description.contains("truncated") == true)
        }
    }

    @Test func headerLengthLargerThanTheFile() throws {
        try withTemporaryFolder { folder in
            let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#
            let bytes = rawSafetensors(header: header, dataBytes: 4, declaredLength: 1000)
            let (path, error) = try Self.open(bytes, in: folder)
            #expect(error == .headerLengthExceedsFile(path: path, length: 1000, available: header.utf8.count + 4))
        }
    }

    @Test func headerLengthBeyondTheLimit() throws {
        try withTemporaryFolder { folder in
            let (path, error) = try Self.open(rawSafetensors(header: "{}", dataBytes: 0, declaredLength: 200_000_000), in: folder)
            #expect(error == .headerTooLarge(path: path, length: 200_000_000, limit: 100_000_000))
        }
    }

    @Test func invalidJSON() throws {
        try withTemporaryFolder { folder in
            let (_, error) = try Self.open(rawSafetensors(header: #"{"a": ["#, dataBytes: 0), in: folder)
            guard case .invalidJSON = error else { Issue.record("got \(String(describing: error))"); return }
        }
    }

    @Test func headerThatIsNotAnObject() throws {
        try withTemporaryFolder { folder in
            let (_, error) = try Self.open(rawSafetensors(header: "[1, 2]", dataBytes: 0), in: folder)
            guard case .invalidJSON = error else { Issue.record("got \(String(describing: error))"); return }
        }
    }

    @Test func nonUTF8Header() throws {
        try withTemporaryFolder { folder in
            let header = Array(#"{"__metadata__":{"k":""#.utf8) + [0xFF, 0xFE] + Array(#""}}"#.utf8)
            let (path, error) = try Self.open(rawSafetensors(header: header, data: []), in: folder)
            #expect(error == .headerNotUTF8(path: path))
        }
    }

    @Test func overlappingOffsets() throws {
        try withTemporaryFolder { folder in
            let header = Self.twoFloats + #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
            let (path, error) = try Self.open(rawSafetensors(header: header, dataBytes: 12), in: folder)
            #expect(error == .overlappingOffsets(path: path, tensor: "b", previous: "a", begin: 4, previousEnd: 8))
        }
    }

    @Test func gapBetweenTensors() throws {
        try withTemporaryFolder { folder in
            let header = Self.twoFloats + #""b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}"#
            let (path, error) = try Self.open(rawSafetensors(header: header, dataBytes: 20), in: folder)
            #expect(error == .gapInData(path: path, tensor: "b", begin: 12, expected: 8))
        }
    }

    @Test func dataNotStartingAtZeroIsAGap() throws {
        try withTemporaryFolder { folder in
            let header = #"{"a":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}}"#
            let (path, error) = try Self.open(rawSafetensors(header: header, dataBytes: 8), in: folder)
            #expect(error == .gapInData(path: path, tensor: "a", begin: 4, expected: 0))
        }
    }

    @Test func byteCountDisagreeingWithShapeAndDType() throws {
        try withTemporaryFolder { folder in
            let header = #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
            let (path, error) = try Self.open(rawSafetensors(header: header, dataBytes: 8), in: folder)
            #expect(error == .wrongByteCount(path: path, tensor: "a", dtype: "F32", shape: [3], expected: 12, actual: 8))
        }
    }

    @Test func bytesAfterTheLastTensor() throws {
        try withTemporaryFolder { folder in
            let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
            let (path, error) = try Self.open(rawSafetensors(header: header, dataBytes: 12), in: folder)
            #expect(error == .trailingBytes(path: path, dataEnd: 8, dataSize: 12))
        }
    }

    @Test func unknownDType() throws {
        try withTemporaryFolder { folder in
            let header = #"{"a":{"dtype":"F12","shape":[2],"data_offsets":[0,8]}}"#
            let (path, error) = try Self.open(rawSafetensors(header: header, dataBytes: 8), in: folder)
            #expect(error == .unknownDType(path: path, tensor: "a", dtype: "F12"))
        }
    }

    static let malformedEntries: [String] = [
        #"{"a":{"shape":[2],"data_offsets":[0,8]}}"#,                      // no dtype
        #"{"a":{"dtype":"F32","data_offsets":[0,8]}}"#,                    // no shape
        #"{"a":{"dtype":"F32","shape":[2]}}"#,                             // no offsets
        #"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#,      // fractional extent
        #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#,       // negative extent
        #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}"#,      // three offsets
        #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[true,8]}}"#,     // boolean offset
        #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#,        // end before begin
        #"{"a":[1,2]}"#,                                                   // entry not an object
    ]

    @Test(arguments: malformedEntries)
    func malformedEntryNamesTheTensor(header: String) throws {
        try withTemporaryFolder { folder in
            let (path, error) = try Self.open(rawSafetensors(header: header, dataBytes: 8), in: folder)
            guard case .invalidEntry(let p, let tensor, _) = error else { Issue.record("got \(String(describing: error))"); return }
            #expect(p == path && tensor == "a")
        }
    }

    @Test func nonStringMetadataValueNamesTheKey() throws {
        try withTemporaryFolder { folder in
            let header = #"{"__metadata__":{"ok":"yes","steps":12}}"#
            let (path, error) = try Self.open(rawSafetensors(header: header, dataBytes: 0), in: folder)
            guard case .invalidMetadata(let p, let key, _) = error else { Issue.record("got \(String(describing: error))"); return }
            #expect(p == path && key == "steps")
        }
    }

    /// An empty header object with no data is a valid (empty) file.
    @Test func emptyFileWithNoTensorsIsValid() throws {
        try withTemporaryFolder { folder in
            let path = try writeBytes(rawSafetensors(header: "{}      ", dataBytes: 0), to: "empty.safetensors", in: folder)
            #expect(try SafetensorsFile(path: path).names.isEmpty)
        }
    }
}
