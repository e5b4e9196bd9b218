import PEFTEngine

/// How a task's text becomes token ids: the seam between the tasks (`Batcher`,
/// `GreedyDecoding`) and a model's vocabulary. The character vocabulary of the from-scratch
/// toy model (`Vocabulary`) is one implementation, a pretrained model's byte-level BPE
/// (`ByteLevelBPETokenizer`) another.
public protocol TaskTokenizer: Sendable {
    /// V: ids lie in 0..<V.
    var vocabularySize: Int { get }
    /// Token and target of padded rows (always masked out).
    var paddingID: Int32 { get }
    /// Closes an answer.
    var endOfAnswerID: Int32 { get }
    /// Opens a sequence whose prompt is empty (running text), so its first token is predicted too.
    var sequenceStartID: Int32 { get }
    /// Ids of `text`, no special token added. A tokenizer that cannot encode every character
    /// throws `VocabularyError` naming the first one, unless `mapUnknown` lets it substitute.
    func encode(_ text: String, mapUnknown: Bool) throws -> [Int32]
    /// Text of `ids`.
    func decode(_ ids: [Int32]) -> String
}

extension Vocabulary: TaskTokenizer {
    public var vocabularySize: Int { Self.size }
    public var paddingID: Int32 { Self.padding }
    public var endOfAnswerID: Int32 { Self.endOfAnswer }
    /// The end-of-answer marker doubles as the separator (GPT-2's `<|endoftext|>` role).
    public var sequenceStartID: Int32 { Self.endOfAnswer }
}

/// A pretrained model's tokenizer for tasks: every string encodes (byte-level), padding is
/// `<|endoftext|>` (or id 0), an answer ends with the end-of-sequence token (`<|im_end|>` in
/// SmolLM2's ChatML), or `<|endoftext|>` when the model names none, and running text opens with
/// `<|endoftext|>`, the document separator the model was pretrained with.
extension ByteLevelBPETokenizer: TaskTokenizer {
    public var vocabularySize: Int { tokens.count }

    public var paddingID: Int32 { Int32(tokens.firstIndex(of: "<|endoftext|>") ?? 0) }

    public var endOfAnswerID: Int32 { Int32(eosID ?? Int(paddingID)) }

    public var sequenceStartID: Int32 { paddingID }

    public func encode(_ text: String, mapUnknown: Bool) throws -> [Int32] {
        encode(text).map(Int32.init)
    }

    public func decode(_ ids: [Int32]) -> String {
        decode(ids.map(Int.init))
    }
}
