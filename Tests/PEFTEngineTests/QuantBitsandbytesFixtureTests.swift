import Foundation
import Testing
@testable import PEFTEngine

/// `nf4` and `fp4` against bitsandbytes 0.50 itself, bit for bit: packed codes, absmax (plain or
/// double-quantized: nested codes, nested absmax, offset), the absmax dequantization uses, and
/// the dequantized values. The fixture is what `bitsandbytes.functional.quantize_4bit` /
/// `dequantize_4bit` returned on CPU; regenerate it with
/// `python3 Tests/Fixtures/make_bnb_quant_fixture.py --out Tests/PEFTEngineTests/Fixtures/bnb_quant_fixture.json`.
@Suite("Quant against bitsandbytes")
struct QuantBitsandbytesFixtureTests {
    struct Fixture: Decodable {
        struct Input: Decodable {
            var bits: [UInt32]?
            var seed: UInt32?
            var count: Int?
            var blocksize: Int?
        }
        struct Case: Decodable, CustomTestStringConvertible {
            var name: String
            var quant_type: String
            var blocksize: Int
            var double_quant: Bool
            var count: Int
            var input: Input
            var packed: String
            var absmax: [UInt32]?
            var nested_codes: String?
            var nested_absmax: [UInt32]?
            var offset: UInt32?
            var dequantized_absmax: [UInt32]?
            var dequantized: [UInt32]?
            var dequantized_fnv1a64: String
            var testDescription: String { name }
        }
        var magic: String
        var version: Int
        var bitsandbytes: String
        var levels: [String: [UInt32]]
        var fp4_order: [UInt8]
        var dynamic_map: [UInt32]
        var cases: [Case]
        struct Sum: Decodable { var seed: UInt32; var count: Int; var blocksize: Int; var sum: UInt32 }
        var sums: [Sum]
    }

    static let fixture: Fixture = {
        guard let url = Bundle.module.url(forResource: "bnb_quant_fixture", withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url),
              let fixture = try? JSONDecoder().decode(Fixture.self, from: data) else {
            fatalError("bnb_quant_fixture.json missing or unreadable: regenerate it with Tests/Fixtures/make_bnb_quant_fixture.py")
        }
        return fixture
    }()

    /// The generated inputs of the fixture script (`generated_input`): integer arithmetic and one
    /// correctly rounded Float32 division, so both sides build the same bits.
    static func generatedInput(seed: UInt32, count: Int, blocksize: Int) -> [Float] {
        var state = seed
        return (0..<count).map { i in
            var k = 0
            for _ in 0..<4 {
                state = state &* 1_664_525 &+ 1_013_904_223
                k += Int(state >> 8) % 1001
            }
            let b = i / blocksize
            let e = (7 * b + Int(seed)) % 13 - 8
            let x = Float(k - 2000) / Float(1000) * Float(sign: .plus, exponent: e, significand: 1)
            return b % 11 == 5 ? 0 : x
        }
    }

    static func input(of c: Fixture.Case) -> [Float] {
        if let bits = c.input.bits { return bits.map(Float.init(bitPattern:)) }
        return generatedInput(seed: c.input.seed!, count: c.input.count!, blocksize: c.input.blocksize!)
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func fnv1a64(_ values: [Float]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for v in values {
            var bits = v.bitPattern.littleEndian
            withUnsafeBytes(of: &bits) { for byte in $0 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 } }
        }
        return String(format: "%016llx", hash)
    }

    /// First index where two bit-pattern arrays differ, for a readable failure.
    static func firstDifference(_ a: [UInt32], _ b: [UInt32]) -> String {
        guard a.count == b.count else { return "lengths \(a.count) vs \(b.count)" }
        guard let i = a.indices.first(where: { a[$0] != b[$0] }) else { return "none" }
        return "index \(i): ours \(Float(bitPattern: a[i])) (0x\(String(a[i], radix: 16))), bitsandbytes \(Float(bitPattern: b[i])) (0x\(String(b[i], radix: 16)))"
    }

    @Test("the fixture is bitsandbytes 0.50's, version 1")
    func header() {
        #expect(Self.fixture.magic == "workbench-bnb-quant-fixture")
        #expect(Self.fixture.version == 1, "fixture version \(Self.fixture.version); this test reads version 1")
        #expect(Self.fixture.bitsandbytes.hasPrefix("0.50"))
    }

    @Test("NF4 and FP4 levels are bitsandbytes' Float32 values, code for code")
    func levels() {
        #expect(QuantFormat.nf4Levels.map(\.bitPattern) == Self.fixture.levels["nf4"])
        #expect(QuantFormat.fp4Levels.map(\.bitPattern) == Self.fixture.levels["fp4"])
        #expect(QuantFormat.fp4.quantizationOrder == Self.fixture.fp4_order)
    }

    @Test("the dynamic map of double quantization is bitsandbytes' Float32 map")
    func dynamicMap() {
        #expect(DynamicQuantizationMap.values.map(\.bitPattern) == Self.fixture.dynamic_map)
    }

    @Test("quantize and dequantize agree with bitsandbytes bit for bit", arguments: fixture.cases)
    func agreesWithBitsandbytes(_ c: Fixture.Case) throws {
        let format = try #require(QuantFormat(rawValue: c.quant_type))
        let x = Self.input(of: c)
        #expect(x.count == c.count)
        let q = QuantizedTensor(quantizing: Tensor(shape: [x.count], storage: x), format: format,
                                blocksize: c.blocksize, doubleQuant: c.double_quant)
        #expect(Self.hex(q.codes) == c.packed, "\(c.name): packed codes differ")
        switch q.absmax {
        case .float(let a):
            let want = try #require(c.absmax)
            #expect(a.map(\.bitPattern) == want, "\(c.name): absmax, first difference at \(Self.firstDifference(a.map(\.bitPattern), want))")
        case .doubleQuantized(let dq):
            #expect(Self.hex(dq.codes) == c.nested_codes, "\(c.name): nested codes differ")
            let want = try #require(c.nested_absmax)
            #expect(dq.scales.map(\.bitPattern) == want, "\(c.name): nested absmax, \(Self.firstDifference(dq.scales.map(\.bitPattern), want))")
            #expect(dq.mean.bitPattern == c.offset, "\(c.name): offset ours \(dq.mean), bitsandbytes \(Float(bitPattern: c.offset ?? 0))")
        }
        if let want = c.dequantized_absmax {
            #expect(q.blockAbsmax.map(\.bitPattern) == want, "\(c.name): dequantized absmax, \(Self.firstDifference(q.blockAbsmax.map(\.bitPattern), want))")
        }
        let back = q.dequantize().storage
        if let want = c.dequantized {
            #expect(back.map(\.bitPattern) == want, "\(c.name): dequantized, \(Self.firstDifference(back.map(\.bitPattern), want))")
        }
        #expect(Self.fnv1a64(back) == c.dequantized_fnv1a64, "\(c.name): dequantized values differ (FNV-1a 64)")
    }

    @Test("the plain-loop reference agrees with bitsandbytes too", arguments: fixture.cases.filter { !$0.double_quant })
    func referenceAgrees(_ c: Fixture.Case) throws {
        let format = try #require(QuantFormat(rawValue: c.quant_type))
        let (codes, absmax) = BlockwiseReference.quantize(Self.input(of: c), format: format, blocksize: c.blocksize)
        #expect(Self.hex(codes) == c.packed)
        #expect(absmax.map(\.bitPattern) == c.absmax)
    }

    @Test("TorchFloatSum adds in torch's order: the same bits as torch's sum, 1 to 30,000 values")
    func torchSums() {
        for s in Self.fixture.sums {
            let x = Self.generatedInput(seed: s.seed, count: s.count, blocksize: s.blocksize).map(abs)
            let ours = x.withUnsafeBufferPointer(TorchFloatSum.sum)
            #expect(ours.bitPattern == s.sum, "n = \(s.count): ours \(ours), torch \(Float(bitPattern: s.sum))")
        }
    }

    @Test("torch's float mean: the cascade sum ÷ n reproduces bitsandbytes' offsets")
    func offsets() throws {
        for c in Self.fixture.cases where c.double_quant {
            let format = try #require(QuantFormat(rawValue: c.quant_type))
            let plain = QuantizedTensor(quantizing: Tensor(shape: [c.count], storage: Self.input(of: c)), format: format, blocksize: c.blocksize)
            let mean = plain.blockAbsmax.withUnsafeBufferPointer(TorchFloatSum.sum) / Float(plain.blockCount)
            #expect(mean.bitPattern == c.offset, "\(c.name)")
        }
    }
}
