import Testing
@testable import Workbench

/// The character vocabulary: layout, round trip, errors.
@Suite struct TaskVocabularyTests {
    let vocabulary = Vocabulary()

    @Test func layoutHasThreeSpecialTokensThenPrintableASCII() throws {
        #expect(Vocabulary.size == 98)
        #expect(try vocabulary.encode(" ") == [3])
        #expect(try vocabulary.encode("~") == [97])
        #expect(try vocabulary.encode("A") == [Int32(3 + 65 - 32)])
        #expect([Vocabulary.padding, Vocabulary.endOfAnswer, Vocabulary.unknown] == [0, 1, 2])
    }

    @Test func everyPrintableCharacterRoundTrips() throws {
        let all = String((32...126).map { Character(Unicode.Scalar(UInt8($0))) })
        let tokens = try vocabulary.encode(all)
        #expect(tokens == (3..<98).map { Int32($0) })
        #expect(vocabulary.decode(tokens) == all)
        #expect(vocabulary.decode([1, 0, 2, 98]) == "<end><pad><unk><?98>")
    }

    @Test func unknownCharacterErrorNamesCharacterAndPosition() {
        do {
            _ = try vocabulary.encode("ab\u{e9}c")
            Issue.record("expected an error")
        } catch let error as VocabularyError {
            #expect(error.position == 2)
            #expect(error.character == "\u{e9}")
            #expect(error.description.contains("position 2"))
            #expect(error.description.contains("U+E9"))
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(throws: VocabularyError.self) { try vocabulary.encode("line\nbreak") }
    }

    @Test func mapUnknownReplacesOutsideCharactersByTheUnknownToken() throws {
        #expect(try vocabulary.encode("a\u{e9}\tb", mapUnknown: true) == [68, 2, 2, 69])
    }
}
