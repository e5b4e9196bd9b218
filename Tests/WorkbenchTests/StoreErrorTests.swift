import Foundation
import PEFTEngine
import Testing
@testable import Workbench

@Suite("Store: bad files give one clear HDF5Error")
struct StoreErrorTests {
    /// Opens `url` for reading and returns the error it must raise.
    private func openError(_ url: URL) -> HDF5Error? {
        do {
            _ = try HDF5File.open(url)
            return nil
        } catch let error as HDF5Error {
            return error
        } catch {
            Issue.record("expected HDF5Error, got \(error)")
            return nil
        }
    }

    @Test("A file truncated to half its size fails to open with an error naming H5Fopen and the path")
    func truncatedFile() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("truncated.h5")
            try HDF5Transaction.write(to: url) { root in
                try root.write(patternedTensor([64, 64]), to: "w")
                try root.setAttribute("note", "soon cut in half")
            }
            let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as! Int
            let handle = try FileHandle(forWritingTo: url)
            try handle.truncate(atOffset: UInt64(size / 2))
            try handle.close()

            // The checksum header catches it before HDF5 reads a byte.
            let error = try #require(openError(url))
            #expect(error.call == "verify")
            #expect(error.file == url.path)
            #expect(error.description.contains(url.path))
            #expect(error.detail.contains("truncated"), "\(error.detail)")
            #expect(throws: HDF5Error.self) { try HDF5Inspector.inspect(url) }
        }
    }

    @Test("A text file is not mistaken for HDF5")
    func textFile() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("notes.txt")
            try "not an HDF5 file\n".write(to: url, atomically: false, encoding: .utf8)
            let error = try #require(openError(url))
            #expect(error.call == "verify")
            #expect(error.description.contains(url.path))
            #expect(error.detail.contains("nor an HDF5 file"), "\(error.detail)")
        }
    }

    @Test("An empty file and a missing file each give an error naming the path", arguments: [true, false])
    func emptyOrMissingFile(exists: Bool) throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent(exists ? "empty.h5" : "missing.h5")
            if exists { #expect(FileManager.default.createFile(atPath: url.path, contents: Data())) }
            let error = try #require(openError(url))
            #expect(error.call == "verify")
            #expect(error.file == url.path)
            #expect(error.description.contains(url.path))
        }
    }

    @Test("Errors inside a file name the object: a missing dataset, a non-float tensor read")
    func objectErrors() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("objects.h5")
            try HDF5Transaction.write(to: url) { root in
                try root.write([Int32(1), 2], to: "runs/ids")
            }
            let runs = try HDF5File.open(url).root().group("runs")
            let missing = try #require(throws: HDF5Error.self) { try runs.readTensor("absent") }
            #expect(missing.call == "H5Dopen2")
            #expect(missing.object == "/runs/absent")
            let notFloat = try #require(throws: HDF5Error.self) { try runs.readTensor("ids") }
            #expect(notFloat.call == "readTensor")
            #expect(notFloat.object == "/runs/ids")
            #expect(notFloat.detail.contains("int32"))
        }
    }

    @Test("Writing into a file opened read-only is an HDF5Error, not a crash")
    func readOnlyWrite() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("readonly.h5")
            try HDF5Transaction.write(to: url) { _ in }
            let root = try HDF5File.open(url).root()
            #expect(throws: HDF5Error.self) { try root.write(patternedTensor([2]), to: "w") }
            #expect(throws: HDF5Error.self) { try root.setAttribute("x", 1) }
        }
    }
}
