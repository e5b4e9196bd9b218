/// The GPT-2 pre-tokenizer (HF tokenizers' `ByteLevel` with `use_regex: true`, no prefix space):
/// text is cut into pieces by the pattern
///
///     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
///
/// matched leftmost-first at each position, written out as a scanner (no regex engine):
/// \p{L} are the Unicode letters (Lu, Ll, Lt, Lm, Lo), \p{N} the numbers (Nd, Nl, No), \s the
/// Unicode white space. A run of white space before a non-space keeps its last character for the
/// next piece (`\s+(?!\S)`), so " world" stays one piece after "hello ".
///
/// SmolLM2's GGUF names its pre-tokenizer "smollm" (llama.cpp splits digits one by one first);
/// transformers' GGUF loader — the reference here — uses this pattern alone. The two agree on
/// SmolLM2's vocabulary, which has no token or merge spanning two digits.
enum ByteLevelPreTokenizer {
    static func isLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    static func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }

    /// The pieces of `text`, as ranges of its Unicode scalars.
    static func pieces(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        let n = scalars.count
        func run(from j: Int, while test: (Unicode.Scalar) -> Bool) -> Int {
            var k = j
            while k < n && test(scalars[k]) { k += 1 }
            return k
        }
        while i < n {
            let c = scalars[i]
            // Contractions.
            if c == "'" && i + 1 < n {
                let rest = String(String.UnicodeScalarView(scalars[(i + 1)..<min(i + 3, n)]))
                if rest.hasPrefix("re") || rest.hasPrefix("ve") || rest.hasPrefix("ll") { out.append(i..<(i + 3)); i += 3; continue }
                if let first = rest.unicodeScalars.first, "stmd".unicodeScalars.contains(first) { out.append(i..<(i + 2)); i += 2; continue }
            }
            let start = i
            let j = c == " " && i + 1 < n ? i + 1 : i  // the optional leading space
            if j < n {
                let d = scalars[j]
                if isLetter(d) { let end = run(from: j, while: isLetter); out.append(start..<end); i = end; continue }
                if isNumber(d) { let end = run(from: j, while: isNumber); out.append(start..<end); i = end; continue }
                if !isSpace(d) && !isLetter(d) && !isNumber(d) {
                    let end = run(from: j) { !isSpace($0) && !isLetter($0) && !isNumber($0) }
                    out.append(start..<end); i = end; continue
                }
            }
            // White space: the run, less its last character when a non-space follows.
            let end = run(from: i, while: isSpace)
            if end > i {
                let cut = end < n && end - i > 1 ? end - 1 : end
                out.append(i..<cut); i = cut; continue
            }
            // A lone character no branch takes (cannot happen: one of the classes matches).
            out.append(i..<(i + 1)); i += 1
        }
        return out
    }
}
