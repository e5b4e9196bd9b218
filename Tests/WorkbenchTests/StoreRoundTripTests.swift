import Foundation
import PEFTEngine
import Testing
@testable import Workbench

@Suite("Store: values written are read back exactly")
struct StoreRoundTripTests {
    @Test("Float32 tensors of rank 0…4 round-trip bit-exactly, NaN payloads, ±∞ and −0 included",
          arguments: [[], [7], [3, 5], [2, 3, 4], [2, 1, 3, 2], [0, 4]] as [[Int]])
    func tensorRoundTrip(shape: [Int]) throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("tensors.h5")
            let tensor = patternedTensor(shape)
            try HDF5Transaction.write(to: url) { root in
                try root.write(tensor, to: "params/layer0.wq")
            }
            let back = try HDF5File.open(url).root().readTensor("params/layer0.wq")
            #expect(bitIdentical(back, tensor), "shape \(shape): \(back.storage.map(\.bitPattern)) vs \(tensor.storage.map(\.bitPattern))")
        }
    }

    @Test("Compressed (shuffle + gzip) and uncompressed datasets both round-trip; only the compressed one is chunked",
          arguments: [HDF5Compression.none, .shuffleGzip(level: 4)])
    func compressionRoundTrip(compression: HDF5Compression) throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("compressed.h5")
            let tensor = patternedTensor([300, 1000])  // 1.2 MB: more than one 1 MiB chunk
            let ids = (0..<1000).map { Int32($0 % 97) }
            try HDF5Transaction.write(to: url) { root in
                try root.write(tensor, to: "w", compression: compression)
                try root.write(ids, shape: [10, 100], to: "ids", compression: compression)
                try root.write(patternedTensor([]), to: "scalar", compression: compression)
            }
            let root = try HDF5File.open(url).root()
            #expect(bitIdentical(try root.readTensor("w"), tensor))
            #expect(try root.readArray("ids", as: Int32.self) == HDF5Array(shape: [10, 100], values: ids))
            #expect(bitIdentical(try root.readTensor("scalar"), patternedTensor([])))
            let storage = try root.dataset("w").storage()
            switch compression {
            case .none:
                #expect(storage.layout == .contiguous)
                #expect(storage.filters.isEmpty)
            case .shuffleGzip(let level):
                guard case .chunked(let chunk) = storage.layout else {
                    Issue.record("compressed dataset is \(storage.layout), not chunked"); return
                }
                #expect(chunk.reduce(4, *) <= HDF5Compression.chunkBytes)
                #expect(storage.filters.map(\.id) == [2, 1], "shuffle (2) then deflate (1)")
                #expect(storage.filters.last?.parameters == [UInt32(level)])
            }
        }
    }

    @Test("Int32, Int64 and UInt8 arrays keep their type, shape and values")
    func integerArrays() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("ints.h5")
            let int32: [Int32] = [.min, -1, 0, 1, .max, 42]
            let int64: [Int64] = [.min, -1, 0, 1, .max]
            let bytes: [UInt8] = [0, 1, 127, 128, 255, 7, 9, 11]
            try HDF5Transaction.write(to: url) { root in
                try root.write(int32, shape: [2, 3], to: "a/int32")
                try root.write(int64, to: "a/int64")
                try root.write(bytes, shape: [2, 2, 2], to: "a/uint8")
                try root.write([Double.pi, -0.0], to: "a/float64")
            }
            let a = try HDF5File.open(url).root().group("a")
            #expect(try a.readArray("int32", as: Int32.self) == HDF5Array(shape: [2, 3], values: int32))
            #expect(try a.readArray("int64", as: Int64.self) == HDF5Array(shape: [5], values: int64))
            #expect(try a.readArray("uint8", as: UInt8.self) == HDF5Array(shape: [2, 2, 2], values: bytes))
            #expect(try a.readArray("float64", as: Double.self).values.map(\.bitPattern) == [Double.pi, -0.0].map(\.bitPattern))
            #expect(try a.dataset("int32").dataType == .integer(bits: 32, signed: true))
            #expect(try a.dataset("uint8").dataType == .integer(bits: 8, signed: false))
            #expect(throws: HDF5Error.self, "an Int64 dataset is not silently narrowed to Int32") {
                try a.readArray("int64", as: Int32.self)
            }
        }
    }

    @Test("Scalar datasets hold a Double, an Int64 and a UTF-8 String")
    func scalarDatasets() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("scalars.h5")
            try HDF5Transaction.write(to: url) { root in
                try root.writeValue(.double(0.125), to: "metrics/loss")
                try root.writeValue(.integer(-9_000_000_000), to: "metrics/steps")
                try root.writeValue(.string("ΔW low-rank ✓"), to: "metrics/note")
            }
            let metrics = try HDF5File.open(url).root().group("metrics")
            #expect(try metrics.readValue("loss") == .double(0.125))
            #expect(try metrics.readValue("steps") == .integer(-9_000_000_000))
            #expect(try metrics.readValue("note") == .string("ΔW low-rank ✓"))
            #expect(try metrics.dataset("note").shape == [])
        }
    }

    @Test("Attributes of each type on the root, a group and a dataset read back with their type")
    func attributes() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("attributes.h5")
            try HDF5Transaction.write(to: url) { root in
                try root.setAttribute("study", "forgetting — λ sweep")
                let run = try root.createGroup("runs/lora")
                try run.setAttribute("r", 8)
                try run.setAttribute("lora_alpha", 16.5)
                try run.setAttribute("r", 4)  // replaces
                try run.setAttribute("seeds", .integers([0, 1, 2]))
                try run.write(patternedTensor([2, 2]), to: "delta")
                try run.dataset("delta").setAttribute("parameter", "layer0.wq")
            }
            let root = try HDF5File.open(url).root()
            #expect(try root.stringAttribute("study") == "forgetting — λ sweep")
            let run = try root.group("runs/lora")
            #expect(try run.integerAttribute("r") == 4)
            #expect(try run.doubleAttribute("lora_alpha") == 16.5)
            #expect(try run.attribute("seeds") == .integers([0, 1, 2]))
            #expect(try run.attributeNames() == ["lora_alpha", "r", "seeds"])
            #expect(try run.dataset("delta").stringAttribute("parameter") == "layer0.wq")
            #expect(try run.hasAttribute("missing") == false)
            #expect(throws: HDF5Error.self) { try run.stringAttribute("r") }
            #expect(throws: HDF5Error.self) { try run.attribute("missing") }
        }
    }

    @Test("Nested groups are created from one path; children, existence and kinds are reported")
    func nestedGroups() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("groups.h5")
            try HDF5Transaction.write(to: url) { root in
                let cell = try root.createGroup("runs/lora/seed0/after_task1")
                #expect(cell.path == "/runs/lora/seed0/after_task1")
                #expect(try root.createGroup("runs/lora").path == "/runs/lora", "creating an existing group opens it")
                try root.write(patternedTensor([3]), to: "runs/full/seed0/after_task1/w")
                try root.write([Int64(1)], to: "runs/lora/seed0/steps")
            }
            let root = try HDF5File.open(url).root()
            #expect(try root.children() == ["runs"])
            #expect(try root.group("runs").children() == ["full", "lora"])
            #expect(try root.group("runs/lora/seed0").children() == ["after_task1", "steps"])
            #expect(try root.contains("runs/lora/seed0/after_task1"))
            #expect(try root.contains("runs/lora/seed1/after_task1") == false)
            #expect(try root.contains("nothing/here") == false)
            #expect(try root.kind(of: "runs/full") == .group)
            #expect(try root.kind(of: "runs/full/seed0/after_task1/w") == .dataset)
            #expect(try root.group("runs").group("full/seed0").contains("after_task1/w"))
        }
    }

    @Test("Writing a dataset where one exists replaces it")
    func replaceDataset() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("replace.h5")
            try HDF5Transaction.write(to: url) { root in
                try root.write(patternedTensor([4]), to: "w")
                try root.write(patternedTensor([2, 2]), to: "w")
            }
            #expect(try HDF5File.open(url).root().readTensor("w").shape == [2, 2])
        }
    }
}
