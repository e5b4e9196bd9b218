/// The character-level vocabulary shared by every task.
///
/// Layout (V = `Vocabulary.size` = 98):
///
///     token 0        padding (never a target with mask 1)
///     token 1        end-of-answer marker (also opens a sequence whose prompt is empty)
///     token 2        unknown character (only with `mapUnknown: true`)
///     token 3 + k    printable ASCII character with code 32 + k, k = 0…94 (' ' … '~')
///
/// One character is one Swift `Character` (extended grapheme cluster), so a position reported
/// in an error is what an editor shows as a column (0-based here). Newlines and tabs are not
/// in the vocabulary: tasks that read free text normalise them first (see `TextTask`).
public struct Vocabulary: Sendable, Equatable {
    /// Number of tokens, V = 3 special + 95 printable ASCII.
    public static let size = 98
    public static let padding: Int32 = 0
    public static let endOfAnswer: Int32 = 1
    public static let unknown: Int32 = 2
    /// Token of the first printable character (' ', ASCII 32).
    public static let firstCharacterToken: Int32 = 3
    /// Printable ASCII range covered by the vocabulary.
    public static let asciiRange: ClosedRange<UInt32> = 32...126

    public init() {}

    /// The token of one character, or nil when it is outside the vocabulary.
    @inline(__always)
    public func token(for character: Character) -> Int32? {
        let scalars = character.unicodeScalars
        guard scalars.count == 1, let s = scalars.first, Self.asciiRange.contains(s.value) else { return nil }
        return Self.firstCharacterToken + Int32(s.value - Self.asciiRange.lowerBound)
    }

    /// Tokens of `text`, one per character. Throws `VocabularyError` naming the first character
    /// outside the vocabulary and its 0-based position, unless `mapUnknown` is true, in which case
    /// such characters become `Vocabulary.unknown`.
    public func encode(_ text: String, mapUnknown: Bool = false) throws -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.utf8.count)
        for (position, character) in text.enumerated() {
            if let t = token(for: character) {
                out.append(t)
            } else if mapUnknown {
                out.append(Self.unknown)
            } else {
                throw VocabularyError(character: character, position: position)
            }
        }
        return out
    }

    /// True when every character of `text` is in the vocabulary.
    public func covers(_ text: String) -> Bool {
        text.allSatisfy { token(for: $0) != nil }
    }

    /// Text of `tokens`: printable tokens become their character; the special tokens are shown
    /// as "<pad>", "<end>", "<unk>" and anything outside 0..<V as "<?n>". `decode(encode(s)) == s`
    /// for every string made of printable ASCII.
    public func decode(_ tokens: [Int32]) -> String {
        var out = ""
        for t in tokens {
            switch t {
            case Self.padding: out += "<pad>"
            case Self.endOfAnswer: out += "<end>"
            case Self.unknown: out += "<unk>"
            case Self.firstCharacterToken..<Int32(Self.size):
                let code = UInt32(t - Self.firstCharacterToken) + Self.asciiRange.lowerBound
                out.unicodeScalars.append(Unicode.Scalar(code)!)
            default: out += "<?\(t)>"
            }
        }
        return out
    }
}

/// A character outside the vocabulary, with its 0-based position in the encoded string.
public struct VocabularyError: Error, Equatable, CustomStringConvertible, Sendable {
    public var character: Character
    public var position: Int

    public var description: String {
        let codes = character.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }
        return "character \(character.debugDescription) (\(codes.joined(separator: " "))) at position \(position) is not in the vocabulary (printable ASCII only)"
    }
}
