import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// The GGUF reader against a file the reference `gguf` package wrote, and against damaged copies:
/// every malformed header, count, string, type or offset is one `GGUFError` naming the file.
@Suite("Checkpoints: GGUF v3 files")
struct CheckpointGGUFTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/gguf")
    static let regenerate = "regenerate with: python3 Tests/Fixtures/make_gguf_fixture.py --out Tests/WorkbenchTests/Fixtures/gguf"

    struct Expected: Decodable {
        struct Entry: Decodable { var type: String; var shape: [Int]; var values: [UInt32]? }
        var magic: String
        var version: Int
        var tensors: [String: Entry]
        var tensor_order: [String]
    }

    static func expected() throws -> Expected {
        let data = try Data(contentsOf: folder.appendingPathComponent("expected.json"))
        let e = try JSONDecoder().decode(Expected.self, from: data)
        #expect(e.magic == "workbench-gguf-fixture" && e.version == 1, "\(regenerate)")
        return e
    }

    @Test("tensors of every readable type dequantize to gguf-py's float32 values, bit for bit; shapes are row-major")
    func tensors() throws {
        let expected = try Self.expected()
        let file = try GGUFFile(path: Self.folder.appendingPathComponent("tiny.gguf").path)
        #expect(file.version == 3 && file.alignment == 64 && file.dataOffset % 64 == 0)
        #expect(file.tensors.map(\.name) == expected.tensor_order)
        for name in expected.tensor_order {
            let want = try #require(expected.tensors[name])
            let info = try #require(file.info(name))
            #expect(info.type.description == want.type && info.dimensions == want.shape, "\(name)")
            guard let values = want.values else {
                #expect(throws: GGUFError.self, "\(name) (\(want.type)) is refused by name") { try file.tensor(named: name) }
                do { _ = try file.tensor(named: name) } catch let error as GGUFError { #expect(error.reason.contains("Q4_K is not supported")) }
                continue
            }
            let tensor = try file.tensor(named: name)
            #expect(tensor.shape == Array(want.shape.reversed()))
            let got = tensor.storage.map(\.bitPattern)
            #expect(got == values, "\(name): first difference at \(zip(got, values).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)")
        }
        #expect(throws: GGUFError.self) { try file.tensor(named: "nope") }
    }

    @Test("metadata of every value type reads back as written")
    func metadata() throws {
        let file = try GGUFFile(path: Self.folder.appendingPathComponent("tiny.gguf").path)
        #expect(file.value("general.architecture")?.string == "llama")
        #expect(file.value("test.u8") == .unsigned(200) && file.value("test.i8") == .signed(-5))
        #expect(file.value("test.u16") == .unsigned(65000) && file.value("test.i16") == .signed(-30000))
        #expect(file.value("test.i32") == .signed(-123456) && file.value("test.u64") == .unsigned(1 << 40) && file.value("test.i64") == .signed(-(1 << 40)))
        #expect(file.value("test.f32") == .float(Double(Float(0.1))) && file.value("test.f64") == .float(1e-300))
        #expect(file.value("test.bool") == .bool(true) && file.value("test.string")?.string == "héllo, wörld ✓")
        #expect(file.value("test.strings")?.strings == ["a", "", "ünïcode", "<|im_start|>"])
        #expect(file.value("test.ints") == .array([.signed(1), .signed(-2), .signed(3)]))
    }

    /// Writes `bytes` to a temporary file and opens it; returns the error, if any.
    static func open(_ bytes: [UInt8], in folder: URL, name: String = "damaged.gguf") -> Error? {
        let url = folder.appendingPathComponent(name)
        FileManager.default.createFile(atPath: url.path, contents: Data(bytes))
        do { _ = try GGUFFile(path: url.path); return nil } catch { return error }
    }

    @Test("every truncation of the file is one error naming it, never a crash")
    func truncations() throws {
        let bytes = try [UInt8](Data(contentsOf: Self.folder.appendingPathComponent("tiny.gguf")))
        try withTemporaryFolder { folder in
            for length in stride(from: 0, to: bytes.count, by: 7) {
                let error = Self.open(Array(bytes[0..<length]), in: folder)
                // Cutting inside the last tensors' data is caught at open; inside the header too.
                if length < 1536 + 144 { #expect(error is GGUFError, "truncated to \(length) bytes: \(String(describing: error))") }
            }
        }
    }

    @Test("bad magic, version, counts, string lengths, value types, tensor types and offsets are named")
    func malformedHeaders() throws {
        let good = try [UInt8](Data(contentsOf: Self.folder.appendingPathComponent("tiny.gguf")))
        func patched(_ at: Int, _ value: UInt64, width: Int) -> [UInt8] {
            var b = good
            for i in 0..<width { b[at + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
            return b
        }
        try withTemporaryFolder { folder in
            let cases: [([UInt8], String)] = [
                (patched(0, 0x4655_4748, width: 4), "not a GGUF file"),
                (patched(4, 2, width: 4), "GGUF version 2"),
                (patched(8, UInt64(Int64.max), width: 8), "tensor count"),
                (patched(16, 1 << 40, width: 8), "metadata count"),
                (patched(24, 1 << 50, width: 8), "runs past the end of the file"),  // first key's length
            ]
            for (bytes, message) in cases {
                let error = Self.open(bytes, in: folder)
                #expect((error as? GGUFError)?.description.contains(message) == true, "\(message): \(String(describing: error))")
            }
            // Random single-byte corruptions of the header: an error or a readable file, never a crash.
            var rng = SeededRNG(seed: 5)
            for _ in 0..<300 {
                var b = good
                let at = Int(rng.next() % 896)
                b[at] = UInt8(truncatingIfNeeded: rng.next())
                if let error = Self.open(b, in: folder) { #expect(error is GGUFError, "\(error)") }
            }
            // A FIFO is refused without blocking.
            let fifo = folder.appendingPathComponent("pipe.gguf")
            #expect(mkfifo(fifo.path, 0o600) == 0)
            #expect(throws: GGUFError.self) { try GGUFFile(path: fifo.path) }
        }
    }
}
