import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// Reading files written by the reference safetensors library, and round trips through the
/// project's writer.
@Suite("Checkpoint safetensors files")
struct CheckpointSafetensorsTests {
    @Test func namesAreSortedAndInfoComesFromTheHeader() throws {
        let file = try CheckpointFixtures.open("dtypes.safetensors")
        #expect(file.names == ["bf16", "f16", "f32", "i64"])
        let f16 = try file.info("f16")
        #expect(f16.dtype == .f16 && f16.shape == [8] && f16.byteRange.count == 16)
        #expect(try file.info("bf16").shape == [2, 3])
        #expect(try file.info("i64").dtype == .i64)
        #expect(file.metadata["format"] == "np")
    }

    @Test func float32ValuesAreExact() throws {
        let t = try CheckpointFixtures.open("dtypes.safetensors").tensor(named: "f32")
        #expect(t == Tensor(shape: [2, 3], storage: [0, 1, -2.5, 3.25, 1e-3, -1e30]))
    }

    @Test func float16ValuesIncludeSubnormalInfinityAndNaN() throws {
        let t = try CheckpointFixtures.open("dtypes.safetensors").tensor(named: "f16")
        #expect(t.shape == [8])
        #expect(Array(t.storage[0..<5]) == [1, -2, 65504, 0x1p-24, .infinity])
        #expect(t.storage[5].isNaN)
        #expect(t.storage[6] == 0 && t.storage[6].sign == .minus)
        #expect(t.storage[7] == 0x1p-15)
    }

    @Test func bfloat16Values() throws {
        let t = try CheckpointFixtures.open("dtypes.safetensors").tensor(named: "bf16")
        #expect(t == Tensor(shape: [2, 3], storage: [1, 3.140625, -2, 0, -.infinity, 0x1p-133]))
    }

    @Test func unsupportedDTypeParsesButReadingNamesDTypeTensorAndFile() throws {
        let path = CheckpointFixtures.path("dtypes.safetensors")
        let file = try SafetensorsFile(path: path)
        let error = checkpointError { _ = try file.tensor(named: "i64") }
        #expect(error == .unsupportedDType(path: path, tensor: "i64", dtype: "I64"))
        #expect(error?.description
            == "unsupported dtype I64 for tensor 'i64' in \(path); the workbench reads F32, F16 and BF16")
    }

    @Test func unknownTensorNameIsAnError() throws {
        let path = CheckpointFixtures.path("dtypes.safetensors")
        let error = checkpointError { _ = try SafetensorsFile(path: path).tensor(named: "nope") }
        #expect(error == .tensorNotFound(path: path, tensor: "nope"))
    }

    @Test func writerRoundTripKeepsFloat32BitsAndRoundsHalves() throws {
        try withTemporaryFolder { folder in
            let exact = patternedTensor([3, 5])
            let values = Tensor(shape: [2, 4], storage: [1, -2, 0.1, 3.14159, 65504, 1e-6, -7.5, 1e5])
            var writer = SafetensorsWriter(metadata: ["producer": "workbench"])
            writer.add("w.f32", exact)
            writer.add("w.f16", values, as: .f16)
            writer.add("w.bf16", values, as: .bf16)
            writer.add("scalar", Tensor(shape: [], storage: [42]))
            writer.add("empty", Tensor(shape: [0, 3]))
            let path = folder.appendingPathComponent("out.safetensors").path
            try writer.write(to: path)

            let file = try SafetensorsFile(path: path)
            #expect(file.names == ["empty", "scalar", "w.bf16", "w.f16", "w.f32"])
            #expect(file.metadata == ["producer": "workbench"])
            #expect(bitIdentical(try file.tensor(named: "w.f32"), exact))
            #expect(try file.tensor(named: "w.f16").storage
                == values.storage.map { HalfPrecision.float(fromFloat16Bits: HalfPrecision.float16Bits(from: $0)) })
            #expect(try file.tensor(named: "w.bf16").storage
                == values.storage.map { HalfPrecision.float(fromBFloat16Bits: HalfPrecision.bfloat16Bits(from: $0)) })
            #expect(try file.tensor(named: "scalar") == Tensor(shape: [], storage: [42]))
            #expect(try file.tensor(named: "empty").shape == [0, 3])
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.safetensors"],
                    "the temporary file is renamed away")
        }
    }

    /// The reference reader pads the header to 8 bytes; the writer does too, so F32 data is aligned.
    @Test func writerPadsTheHeaderToEightBytes() throws {
        try withTemporaryFolder { folder in
            var writer = SafetensorsWriter()
            writer.add("a", Tensor(shape: [1], storage: [1]))
            let path = folder.appendingPathComponent("a.safetensors").path
            try writer.write(to: path)
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let length = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            #expect(length % 8 == 0 && bytes.count == 8 + length + 4)
        }
    }

    @Test func rewritingAReferenceFileKeepsItsValues() throws {
        let source = try CheckpointFixtures.open("dtypes.safetensors")
        try withTemporaryFolder { folder in
            var writer = SafetensorsWriter()
            for name in ["f32", "f16", "bf16"] { writer.add(name, try source.tensor(named: name), as: try source.info(name).dtype) }
            let path = folder.appendingPathComponent("copy.safetensors").path
            try writer.write(to: path)
            let copy = try SafetensorsFile(path: path)
            for name in ["f32", "f16", "bf16"] {
                #expect(bitIdentical(try copy.tensor(named: name), try source.tensor(named: name)), "\(name)")
            }
        }
    }
}
