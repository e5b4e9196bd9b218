import Foundation

/// GPT-2-style byte-level BPE (Radford et al. 2019; HF tokenizers' `ByteLevel` + `BPE`), the
/// tokenizer of SmolLM2 and most LLaMA-family models, read from a GGUF file's `tokenizer.ggml.*`
/// metadata.
///
/// Encoding: control tokens (`<|im_start|>`, …) are cut out of the text first and map to their
/// ids; every other stretch is split by `ByteLevelPreTokenizer`; each piece's UTF-8 bytes become
/// printable characters (GPT-2's byte ↔ unicode table), which the merges join, lowest rank first,
/// into vocabulary tokens. Decoding maps the tokens' characters back to bytes, so
/// decode(encode(x)) = x for every string.
public final class ByteLevelBPETokenizer: @unchecked Sendable {
    public let tokens: [String]
    let ids: [String: Int]
    /// Rank of each merge "a b" (0 = applied first).
    let ranks: [Pair: Int]
    /// Control tokens, longest first (so the longest match wins).
    let specials: [(text: [UInt8], id: Int)]
    public let bosID: Int?
    public let eosID: Int?
    private var cache: [String: [Int]] = [:]
    private let lock = NSLock()

    struct Pair: Hashable { var a: String; var b: String }

    /// GPT-2's table: byte b ↦ a printable character (the printable ASCII and Latin-1 bytes map to
    /// themselves, the other 68 to U+0100 onwards, in byte order).
    static let byteToCharacter: [Character] = {
        var printable = Set<Int>(33...126)
        printable.formUnion(161...172)
        printable.formUnion(174...255)
        var out = [Character](repeating: " ", count: 256)
        var next = 256
        for b in 0..<256 {
            if printable.contains(b) { out[b] = Character(Unicode.Scalar(UInt32(b))!) } else {
                out[b] = Character(Unicode.Scalar(UInt32(next))!)
                next += 1
            }
        }
        return out
    }()
    static let characterToByte: [Character: UInt8] = {
        Dictionary(uniqueKeysWithValues: byteToCharacter.enumerated().map { ($1, UInt8($0)) })
    }()

    /// - Parameters: `tokenTypes`: GGUF token types (3 = control, matched in text as a whole).
    /// - Parameter source: the file the vocabulary comes from, for messages.
    public init(tokens: [String], merges: [String], tokenTypes: [Int], bos: Int?, eos: Int?, source: String? = nil) throws {
        self.tokens = tokens
        var ids: [String: Int] = [:]
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = i }
        self.ids = ids
        var ranks: [Pair: Int] = [:]
        for (rank, merge) in merges.enumerated() {
            let parts = merge.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw TokenizerError(reason: "merge \(rank) \"\(merge)\" is not two symbols separated by a space") }
            let pair = Pair(a: String(parts[0]), b: String(parts[1]))
            if ranks[pair] == nil { ranks[pair] = rank }
        }
        self.ranks = ranks
        specials = tokenTypes.enumerated().filter { $0.element == 3 && $0.offset < tokens.count }
            .map { (Array(tokens[$0.offset].utf8), $0.offset) }.sorted { $0.0.count > $1.0.count }
        for (name, id) in [("bos_token_id", bos), ("eos_token_id", eos)] {
            if let id, !tokens.indices.contains(id) {
                throw TokenizerError(reason: (source.map { "\($0): " } ?? "") + "\(name) \(id) is outside the vocabulary of \(tokens.count) tokens")
            }
        }
        bosID = bos
        eosID = eos
    }

    /// The tokenizer stored in a GGUF file (`tokenizer.ggml.model` = gpt2).
    public convenience init(gguf: GGUFFile) throws {
        guard gguf.value("tokenizer.ggml.model")?.string == "gpt2" else {
            throw TokenizerError(reason: "\(gguf.path): tokenizer.ggml.model is \(gguf.value("tokenizer.ggml.model").map { "\($0)" } ?? "missing"), not gpt2 (byte-level BPE)")
        }
        guard let tokens = gguf.value("tokenizer.ggml.tokens")?.strings, let merges = gguf.value("tokenizer.ggml.merges")?.strings else {
            throw TokenizerError(reason: "\(gguf.path): tokenizer.ggml.tokens or tokenizer.ggml.merges missing or not strings")
        }
        var types: [Int] = []
        if case .array(let values)? = gguf.value("tokenizer.ggml.token_type") { types = values.map { $0.int ?? 1 } }
        try self.init(tokens: tokens, merges: merges, tokenTypes: types,
                      bos: gguf.value("tokenizer.ggml.bos_token_id")?.int, eos: gguf.value("tokenizer.ggml.eos_token_id")?.int, source: gguf.path)
    }

    /// Token ids of `text` (no BOS/EOS added).
    public func encode(_ text: String) -> [Int] {
        var out: [Int] = []
        var plain: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        func flush() {
            guard !plain.isEmpty else { return }
            encodePlain(String(decoding: plain, as: UTF8.self), into: &out)
            plain.removeAll(keepingCapacity: true)
        }
        outer: while i < bytes.count {
            if bytes[i] == UInt8(ascii: "<") {
                for special in specials where i + special.text.count <= bytes.count && bytes[i..<(i + special.text.count)].elementsEqual(special.text) {
                    flush()
                    out.append(special.id)
                    i += special.text.count
                    continue outer
                }
            }
            plain.append(bytes[i])
            i += 1
        }
        flush()
        return out
    }

    private func encodePlain(_ text: String, into out: inout [Int]) {
        let scalars = Array(text.unicodeScalars)
        for range in ByteLevelPreTokenizer.pieces(scalars) {
            let piece = String(String.UnicodeScalarView(scalars[range]))
            lock.lock()
            let cached = cache[piece]
            lock.unlock()
            if let cached { out += cached; continue }
            let ids = bpe(piece)
            lock.lock()
            if cache.count < 100_000 { cache[piece] = ids }
            lock.unlock()
            out += ids
        }
    }

    /// Merges the piece's byte characters, lowest-ranked adjacent pair first (leftmost on ties).
    func bpe(_ piece: String) -> [Int] {
        var symbols = piece.utf8.map { String(Self.byteToCharacter[Int($0)]) }
        while symbols.count > 1 {
            var best: (rank: Int, index: Int)?
            for k in 0..<(symbols.count - 1) {
                if let r = ranks[Pair(a: symbols[k], b: symbols[k + 1])], r < (best?.rank ?? Int.max) { best = (r, k) }
            }
            guard let (_, k) = best else { break }
            let merged = symbols[k] + symbols[k + 1]
            let pair = Pair(a: symbols[k], b: symbols[k + 1])
            // Merge every occurrence of this pair, left to right.
            var next: [String] = []
            var j = 0
            while j < symbols.count {
                if j + 1 < symbols.count && symbols[j] == pair.a && symbols[j + 1] == pair.b { next.append(merged); j += 2 } else { next.append(symbols[j]); j += 1 }
            }
            symbols = next
        }
        return symbols.map { s in
            if let id = ids[s] { return id }
            // A symbol outside the vocabulary (cannot happen with a complete byte alphabet): its bytes.
            return ids[String(s.first!)] ?? 0
        }
    }

    /// The text of `ids` (control tokens as their text).
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < tokens.count {
            if specials.contains(where: { $0.id == id }) { bytes += Array(tokens[id].utf8); continue }
            for ch in tokens[id] { if let b = Self.characterToByte[ch] { bytes.append(b) } else { bytes += Array(String(ch).utf8) } }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The piece of each id as the vocabulary spells it, bytes shown as text where they are UTF-8.
    public func pieces(_ ids: [Int]) -> [String] { ids.map { decode([$0]) } }
}

public struct TokenizerError: Error, CustomStringConvertible, Equatable {
    public var reason: String
    public var description: String { reason }
}
