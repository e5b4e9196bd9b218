import Foundation

/// A ChatML chat template (`<|im_start|>role\ncontent<|im_end|>\n`), as SmolLM2 and many other
/// instruct models use it, rendered for one user turn and the assistant's answer the way
/// transformers' `apply_chat_template(…, add_generation_prompt=True)` renders the model's own
/// Jinja template:
///
///     [<|im_start|>system\n SYSTEM <|im_end|>\n]  <|im_start|>user\n PROMPT <|im_end|>\n  <|im_start|>assistant\n
///
/// followed by the answer and `<|im_end|>` (the tokenizer's end-of-sequence token, which the
/// batcher appends as the end-of-answer marker). The system turn is the template's default one
/// when it inserts one for conversations without a system message (SmolLM2's does).
public struct ChatTemplate: Sendable, Equatable {
    /// The system message the template adds when the conversation has none, or nil.
    public var defaultSystem: String?

    public init(defaultSystem: String?) {
        self.defaultSystem = defaultSystem
    }

    /// Recognises a ChatML template in a model's Jinja `chat_template`; nil for any other format.
    /// The default system message is the literal the template emits after `<|im_start|>system\n`.
    public init?(jinja template: String) {
        guard template.contains("<|im_start|>"), template.contains("<|im_end|>") else { return nil }
        if let start = template.range(of: "<|im_start|>system\n"),
           let end = template.range(of: "<|im_end|>", range: start.upperBound..<template.endIndex) {
            let literal = String(template[start.upperBound..<end.lowerBound])
            defaultSystem = literal.contains("{") || literal.contains("'") ? nil : literal
        } else {
            defaultSystem = nil
        }
    }

    /// The text before the answer: optional system turn, the user turn, the assistant's header.
    public func prompt(user: String) -> String {
        var text = ""
        if let defaultSystem { text += "<|im_start|>system\n\(defaultSystem)<|im_end|>\n" }
        return text + "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
    }

    /// Whether `tokenizer` can encode the template: both markers are single tokens and the
    /// end-of-sequence token (the answer's end marker) is `<|im_end|>`.
    public func fits(_ tokenizer: ByteLevelBPETokenizer) -> Bool {
        guard let eos = tokenizer.eosID, eos < tokenizer.tokens.count else { return false }
        return tokenizer.tokens[eos] == "<|im_end|>" && tokenizer.tokens.contains("<|im_start|>")
    }
}
