import Foundation
import Testing
@testable import Workbench

/// XXH64 against the reference implementation, and the checksum header every committed file
/// carries: damage is one error naming the file, found before HDF5 parses anything.
@Suite("Store: file seal")
struct StoreFileSealTests {
    /// Digests from the reference implementation (Python `xxhash` 3, `xxh64(data, seed=0)`).
    static let vectors: [([UInt8], UInt64)] = [
        ([], 0xEF46_DB37_51D8_E999),
        (Array("a".utf8), 0xD24E_C4F1_A98C_6E5B),
        (Array("abc".utf8), 0x44BC_2CF5_AD77_0999),
        (Array("0123456789abcdef0123456789abcdef".utf8), 0x642A_9495_8E71_E6C5),
        ((0..<3).flatMap { _ in (0..<256).map { UInt8($0) } } + Array("xyz".utf8), 0xE921_A1B4_5BD7_79F8),
    ]

    @Test("XXH64 matches the reference digests (0, 1, 3, 32 and 771 bytes)")
    func digests() {
        for (bytes, digest) in Self.vectors {
            #expect(XXHash64.hash(bytes) == digest, "\(bytes.count) bytes")
        }
    }

    @Test("XXH64 streamed in uneven pieces equals one call")
    func streaming() {
        let bytes = Self.vectors.last!.0
        for piece in [1, 5, 31, 32, 33, 100] {
            var state = XXHash64()
            var i = 0
            while i < bytes.count {
                let end = min(i + piece, bytes.count)
                bytes[i..<end].withUnsafeBytes { state.update($0) }
                i = end
            }
            #expect(state.finalize() == Self.vectors.last!.1, "pieces of \(piece)")
        }
    }

    /// A committed file with one tensor, and its bytes.
    static func committedFile(in folder: URL) throws -> URL {
        let url = folder.appendingPathComponent("sealed.h5")
        try HDF5Transaction.write(to: url) { root in
            try root.write([Float](repeating: 0.5, count: 4096), shape: [64, 64], to: "weights")
            try root.setAttribute("note", "a string attribute")
        }
        return url
    }

    static func flip(_ url: URL, byte offset: Int) throws {
        var data = try Data(contentsOf: url)
        data[offset] ^= 0x10
        try data.write(to: url)
    }

    @Test("a committed file is sealed, verifies, and still opens as HDF5")
    func roundTrip() throws {
        try withTemporaryFolder { folder in
            let url = try Self.committedFile(in: folder)
            guard case .sealed = try FileSeal.verify(url) else { Issue.record("not sealed"); return }
            let file = try HDF5File.open(url)
            #expect(try file.root().readTensor("weights").storage.allSatisfy { $0 == 0.5 })
            try file.close()
        }
    }

    @Test("one flipped bit anywhere — header, metadata, raw data — is refused before HDF5 opens the file")
    func bitFlips() throws {
        try withTemporaryFolder { folder in
            let url = try Self.committedFile(in: folder)
            let size = try Data(contentsOf: url).count
            for offset in [3, 12, 20, 28, 512, 600, size / 2, size - 1] {
                let copy = folder.appendingPathComponent("copy-\(offset).h5")
                try FileManager.default.copyItem(at: url, to: copy)
                try Self.flip(copy, byte: offset)
                #expect(throws: FileSealError.self, "flip at byte \(offset)") { try FileSeal.verify(copy) }
                do {
                    _ = try HDF5File.open(copy)
                    Issue.record("opened a damaged file (flip at \(offset))")
                } catch let error as HDF5Error {
                    #expect(error.file == copy.path)
                }
            }
        }
    }

    @Test("a truncated or extended file is refused with its size")
    func lengthChanges() throws {
        try withTemporaryFolder { folder in
            let url = try Self.committedFile(in: folder)
            var data = try Data(contentsOf: url)
            data.removeLast(100)
            try data.write(to: url)
            #expect(throws: FileSealError.self) { try FileSeal.verify(url) }
            do { _ = try FileSeal.verify(url) } catch let error as FileSealError { #expect(error.reason.contains("truncated or extended")) }
        }
    }

    @Test("a FIFO or a folder is refused without blocking; a plain HDF5 file is unsealed")
    func notRegularFiles() throws {
        try withTemporaryFolder { folder in
            let fifo = folder.appendingPathComponent("pipe.h5")
            #expect(mkfifo(fifo.path, 0o600) == 0)
            #expect(throws: FileSealError(path: fifo.path, reason: "not a regular file")) { try FileSeal.verify(fifo) }
            #expect(throws: FileSealError(path: folder.path, reason: "not a regular file")) { try FileSeal.verify(folder) }
            let text = folder.appendingPathComponent("notes.h5")
            try Data("hello, not hdf5 at all, long enough to have 32 bytes".utf8).write(to: text)
            #expect(throws: FileSealError.self) { try FileSeal.verify(text) }
            // A file HDF5 wrote without a user block (someone else's checkpoint) opens unchecked.
            let plain = folder.appendingPathComponent("plain.h5")
            let handle = try H5.createFile(plain.path)
            try HDF5File(url: plain, handle: handle, isWritable: true).close()
            #expect(try FileSeal.verify(plain) == .unsealed)
        }
    }
}
