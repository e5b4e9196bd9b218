import Foundation
import PEFTEngine
import Testing
@testable import Workbench

@Suite("Store: files appear atomically and complete")
struct StoreTransactionTests {
    private func folderContents(_ folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    @Test("A committed file is in place, marked complete and versioned, and no temporary is left")
    func atomicWrite() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("results.h5")
            let transaction = try HDF5Transaction.create(at: url)
            #expect(transaction.temporaryURL.lastPathComponent == ".results.h5.tmp-\(getpid())")
            try transaction.root.write(patternedTensor([3, 3]), to: "w")
            #expect(FileManager.default.fileExists(atPath: url.path) == false, "nothing at the final name before commit")
            try transaction.commit()
            #expect(try folderContents(folder) == ["results.h5"])
            let file = try HDF5File.open(url)
            #expect(try file.isComplete())
            #expect(try file.root().integerAttribute(HDF5Transaction.completeMarker) == 1)
            #expect(try file.root().stringAttribute(HDF5Transaction.versionAttribute) == WorkbenchInfo.version)
        }
    }

    @Test("A transaction that throws or is dropped leaves neither the file nor a temporary")
    func abandonedWrite() throws {
        struct Interrupted: Error {}
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("results.h5")
            #expect(throws: Interrupted.self) {
                try HDF5Transaction.write(to: url) { root in
                    try root.write(patternedTensor([2]), to: "w")
                    throw Interrupted()
                }
            }
            do {
                let dropped = try HDF5Transaction.create(at: url)
                try dropped.root.write(patternedTensor([2]), to: "w")
            }
            #expect(try folderContents(folder).isEmpty)
        }
    }

    @Test("Updates add cells one commit at a time; a failed update leaves the previous file intact")
    func incrementalUpdates() throws {
        struct Interrupted: Error {}
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("study.h5")
            try HDF5Transaction.update(at: url) { root in
                try root.write(patternedTensor([2, 2]), to: "runs/lora/seed0/after_task1/w")
            }
            try HDF5Transaction.update(at: url) { root in
                try root.write(patternedTensor([2, 2]), to: "runs/lora/seed1/after_task1/w")
            }
            #expect(throws: Interrupted.self) {
                try HDF5Transaction.update(at: url) { root in
                    try root.write(patternedTensor([2, 2]), to: "runs/lora/seed2/after_task1/w")
                    throw Interrupted()
                }
            }
            #expect(try folderContents(folder) == ["study.h5"])
            let file = try HDF5File.open(url)
            #expect(try file.isComplete())
            #expect(try file.root().group("runs/lora").children() == ["seed0", "seed1"])
            #expect(bitIdentical(try file.root().readTensor("runs/lora/seed0/after_task1/w"), patternedTensor([2, 2])))
        }
    }

    @Test("Updating a file without the completeness marker is refused")
    func updateIncompleteFile() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("foreign.h5")
            try HDF5Transaction.write(to: url) { _ in }
            do {
                let file = try HDF5File.open(url, writable: true)
                try file.root().removeAttribute(HDF5Transaction.completeMarker)
                try file.close()
                try FileSeal.seal(url)  // intact, just without the marker
            }
            let error = try #require(throws: HDF5Error.self) { try HDF5Transaction.update(at: url) }
            #expect(error.file == url.standardizedFileURL.path)
            #expect(error.detail.contains(HDF5Transaction.completeMarker))
            #expect(try folderContents(folder) == ["foreign.h5"])
        }
    }

    @Test("Updating a damaged file fails with an error naming it, and leaves it and no temporary behind")
    func updateDamagedFile() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("damaged.h5")
            try "not HDF5 at all".write(to: url, atomically: false, encoding: .utf8)
            let error = try #require(throws: HDF5Error.self) { try HDF5Transaction.update(at: url) }
            #expect(error.call == "verify")
            #expect(error.file == url.path)
            #expect(try folderContents(folder) == ["damaged.h5"])
            #expect(try String(contentsOf: url, encoding: .utf8) == "not HDF5 at all")
        }
    }

    @Test("Stale temporaries of dead writers are removed on the next create; live writers' are kept")
    func staleTemporaryCleanup() throws {
        try withTemporaryFolder { folder in
            let finished = Process()
            finished.executableURL = URL(fileURLWithPath: "/bin/true")
            try finished.run()
            finished.waitUntilExit()
            let deadPID = finished.processIdentifier
            let stale = folder.appendingPathComponent(".old.h5.tmp-\(deadPID)")
            let ownStale = folder.appendingPathComponent(".mine.h5.tmp-\(getpid())")
            let live = folder.appendingPathComponent(".busy.h5.tmp-1")
            for url in [stale, ownStale, live] {
                #expect(FileManager.default.createFile(atPath: url.path, contents: Data("HDF partial".utf8)))
            }
            #expect(FileManager.default.createFile(atPath: folder.appendingPathComponent(".hidden-notes").path, contents: Data()))

            try HDF5Transaction.write(to: folder.appendingPathComponent("new.h5")) { _ in }
            #expect(try folderContents(folder) == [".busy.h5.tmp-1", ".hidden-notes", "new.h5"])
        }
    }

    @Test("Temporary names encode the writer's PID; other names are not temporaries")
    func temporaryNames() {
        #expect(HDF5TemporaryFiles.writerPID(ofTemporaryNamed: ".results.h5.tmp-4242") == 4242)
        #expect(HDF5TemporaryFiles.writerPID(ofTemporaryNamed: ".a.tmp-1.h5.tmp-77") == 77)
        #expect(HDF5TemporaryFiles.writerPID(ofTemporaryNamed: "results.h5.tmp-4242") == nil)
        #expect(HDF5TemporaryFiles.writerPID(ofTemporaryNamed: ".results.h5.tmp-") == nil)
        #expect(HDF5TemporaryFiles.writerPID(ofTemporaryNamed: ".results.h5.tmp-12x") == nil)
        #expect(HDF5TemporaryFiles.writerPID(ofTemporaryNamed: "..tmp-12") == nil)
    }
}
