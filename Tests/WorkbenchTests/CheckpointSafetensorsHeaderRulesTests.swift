import Foundation
import Testing
@testable import Workbench

/// The header rules of the reference reader, case by case: 237 files (hand-made edge cases and
/// random mutations of a three-tensor file) with the verdict of safetensors 0.8's own reader,
/// written by `Tests/Fixtures/make_safetensors_header_fixture.py`. The workbench accepts a file
/// exactly when the reference does, and then reads the same dtype, shape and offsets.
@Suite("Checkpoint safetensors: header rules equal the reference reader's")
struct CheckpointSafetensorsHeaderRulesTests {
    struct Fixture: Decodable {
        let reference: String
        let cases: [Case]
    }

    struct Case: Decodable {
        let name: String
        let file_base64: String
        let accepted: Bool
        let reference_error: String?
        let tensors: [String: Tensor]?
    }

    struct Tensor: Decodable {
        let dtype: String
        let shape: [Int]
        let data_offsets: [Int]
    }

    static func fixture() throws -> Fixture {
        let data = try Data(contentsOf: URL(fileURLWithPath: CheckpointFixtures.path("header_cases.json")))
        return try JSONDecoder().decode(Fixture.self, from: data)
    }

    /// The workbench's verdict on `bytes`: the tensors it reads, or its error.
    static func read(_ bytes: Data) -> Result<SafetensorsFile, Error> {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("header-case-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            try bytes.write(to: url)
            return .success(try SafetensorsFile(path: url.path))
        } catch {
            return .failure(error)
        }
    }

    @Test("every case: accepted exactly when safetensors 0.8 accepts it, with the same dtype, shape and offsets")
    func sameVerdictAsTheReference() throws {
        let fixture = try Self.fixture()
        #expect(fixture.reference == "safetensors 0.8.0")
        #expect(fixture.cases.count == 237)
        var agreed = 0
        for c in fixture.cases {
            let bytes = try #require(Data(base64Encoded: c.file_base64), "\(c.name)")
            switch (Self.read(bytes), c.accepted) {
            case (.success(let file), true):
                let expected = try #require(c.tensors)
                #expect(Set(file.names) == Set(expected.keys), "\(c.name)")
                for (name, tensor) in expected {
                    let info = try file.info(name)
                    #expect(info.dtype.rawValue == tensor.dtype && info.shape == tensor.shape
                            && [info.byteRange.lowerBound, info.byteRange.upperBound] == tensor.data_offsets, "\(c.name): \(name)")
                }
                agreed += 1
            case (.failure(let error), false):
                #expect(error is CheckpointError, "\(c.name): \(error)")
                agreed += 1
            case (.success, false):
                Issue.record("\(c.name): accepted, but the reference refuses it: \(c.reference_error ?? "")")
            case (.failure(let error), true):
                Issue.record("\(c.name): refused (\(error)), but the reference accepts it")
            }
        }
        #expect(agreed == fixture.cases.count)
    }

    @Test("the one divergence: an extent above 2⁶³ − 1 beside a zero extent is refused by name (the reference, on 64-bit, reads an empty tensor)")
    func extentAboveIntMax() {
        let header = Array(#"{"a":{"dtype":"F32","shape":[18446744073709551615,0],"data_offsets":[0,0]}}"#.utf8)
        guard case .failure(let error) = Self.read(Data(rawSafetensors(header: header, data: []))) else {
            Issue.record("accepted an extent above Int.max")
            return
        }
        #expect("\(error)".contains("'shape' holds an extent that is not an integer in 0…9223372036854775807"))
    }

    @Test("serde_json's syntax: white space only around the value, no trailing comma, nesting up to 127")
    func strictJSONSyntax() throws {
        func parse(_ text: String) -> StrictJSON? {
            Array(text.utf8).withUnsafeBytes { try? StrictJSON.parse($0) }
        }
        #expect(parse(" \t\r\n{} ") == .object([]))
        #expect(parse("\u{0C}{}") == nil && parse("\u{FEFF}{}") == nil && parse("{}\0") == nil)
        #expect(parse("[1,]") == nil && parse("{\"a\":1,}") == nil)
        #expect(parse("16") == .unsigned(16) && parse("16.0") == .float(16) && parse("2e0") == .float(2) && parse("-0") == .float(-0.0))
        #expect(parse("18446744073709551615") == .unsigned(.max) && parse("18446744073709551616") == .float(18446744073709551616))
        #expect(parse("1e999") == nil && parse("01") == nil && parse("+1") == nil && parse("1.") == nil && parse("-") == nil)
        #expect(parse(#""\ud83d\ude00""#) == .string("😀") && parse(#""\ud800""#) == nil && parse(#""\udc00""#) == nil)
        #expect(parse("\"a\tb\"") == nil && parse(#""\x""#) == nil)
        #expect(parse(String(repeating: "[", count: 127) + String(repeating: "]", count: 127)) != nil)
        #expect(parse(String(repeating: "[", count: 128) + String(repeating: "]", count: 128)) == nil)
        #expect(parse(#"{"a":1,"a":2}"#) == .object([.init(key: "a", value: .unsigned(1)), .init(key: "a", value: .unsigned(2))]))
    }
}
