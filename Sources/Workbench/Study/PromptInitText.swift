import PEFTEngine

/// peft's `prompt_tuning_init_text` for the `prompt` method: the study gives text, the engine
/// takes token ids (`prompt_tuning_init_token_ids`, which a study file does not accept).
///
///     - {method: prompt, num_virtual_tokens: 8, prompt_tuning_init: TEXT, prompt_tuning_init_text: "sort: "}
///
/// The text is tokenised by the tasks' `Vocabulary`, one token per character, so it may use
/// printable ASCII only. The soft prompt's row p starts as the embedding (`wte` row) of token
/// p mod n of the n text tokens — peft's rule (`PromptEmbedding.__init__`): a text longer than
/// `num_virtual_tokens` is truncated to its first P tokens, a shorter one is repeated
/// ⌈P / n⌉ times and truncated to P. With P = 5, "abc" gives a b c a b; with P = 2, a b.
///
/// Checked before training, each error naming the file, the key and the line:
/// `prompt_tuning_init: TEXT` without a text; a text with `RANDOM` (explicit or the default;
/// peft ignores it silently, which hides a typo); an empty text (peft would divide by zero);
/// a character outside the vocabulary, named with its 0-based position in the text.
enum PromptInitText {
    static let textKey = "prompt_tuning_init_text"
    static let initKey = "prompt_tuning_init"
    static let tokenIDsKey = "prompt_tuning_init_token_ids"

    static func applies(to methodName: String) -> Bool { methodName == PromptTuning.Configuration.methodName }

    /// The keys a study entry of this method may carry: the engine's, with the text in place of the ids.
    static func studyFieldNames(_ engineFieldNames: [String]) -> [String] {
        engineFieldNames.filter { $0 != tokenIDsKey } + [textKey]
    }

    /// The text's tokens as the engine's ids (one per character); nil if a character is outside the vocabulary.
    static func tokenIDs(_ text: String) -> [Int]? {
        (try? Vocabulary().encode(text))?.map(Int.init)
    }

    /// Checks one run's fields where they were written; returns nothing, throws the first problem.
    static func check(fields: [String: StudyValue], nodes: [String: StudyNode], entry: StudyNode,
                      model: ModelConfig) throws {
        let mode = fields[initKey].map(\.description) ?? "RANDOM"
        guard let textNode = nodes[textKey], let textValue = fields[textKey] else {
            if mode == "TEXT" {
                throw (nodes[initKey] ?? entry).error(.missingKey,
                    "prompt: prompt_tuning_init TEXT needs `\(textKey)`, the text whose characters' embeddings start the soft prompt",
                    keyPath: entry.path(textKey))
            }
            return
        }
        guard mode == "TEXT" else {
            let given = fields[initKey] == nil ? "RANDOM, the default" : mode
            throw textNode.error(.invalidConfiguration,
                "prompt: `\(textKey)` is only used with prompt_tuning_init: TEXT (here \(given)); set prompt_tuning_init: TEXT or remove the text")
        }
        guard case .string(let text) = textValue else {
            throw textNode.error(.invalidConfiguration, "prompt: `\(textKey)` must be a string, got \(textNode.kindDescription)")
        }
        guard !text.isEmpty else {
            throw textNode.error(.invalidValue, "prompt: `\(textKey)` must not be empty: TEXT initialisation copies the embedding of each character")
        }
        let ids: [Int32]
        do {
            ids = try Vocabulary().encode(text)
        } catch let error as VocabularyError {
            throw textNode.error(.invalidValue, "prompt: `\(textKey)` has \(error)")
        }
        if let position = ids.firstIndex(where: { Int($0) >= model.vocabSize }) {
            let character = Array(text)[position]
            throw textNode.error(.invalidValue,
                "prompt: `\(textKey)` has character \(character.debugDescription) at position \(position), token \(ids[position]), outside the model's vocab_size \(model.vocabSize)")
        }
    }
}

/// A method field as the engine's decoder reads it: a study value, or the token ids a
/// `prompt_tuning_init_text` turns into.
enum MethodFieldValue: Encodable {
    case value(StudyValue)
    case tokenIDs([Int])

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .value(let v): try v.encode(to: encoder)
        case .tokenIDs(let ids):
            var container = encoder.singleValueContainer()
            try container.encode(ids)
        }
    }

    /// `fields` as the engine's configuration type decodes them: a prompt's text becomes its
    /// token ids. A text that is not a string is a type mismatch at its key (so a list of texts
    /// is a sweep); one with characters outside the vocabulary is reported by `PromptInitText.check`.
    static func engineFields(method: String, _ fields: [String: StudyValue]) throws -> [String: MethodFieldValue] {
        var out = fields.mapValues(MethodFieldValue.value)
        guard PromptInitText.applies(to: method), let value = fields[PromptInitText.textKey] else { return out }
        out[PromptInitText.textKey] = nil
        let key = StudyFieldKey(stringValue: PromptInitText.textKey)
        guard case .string(let text) = value else {
            throw DecodingError.typeMismatch(String.self, .init(codingPath: [key], debugDescription: "expected a string"))
        }
        guard let ids = PromptInitText.tokenIDs(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: [key], debugDescription: "`\(PromptInitText.textKey)` has a character outside the vocabulary"))
        }
        out[PromptInitText.tokenIDsKey] = .tokenIDs(ids)
        return out
    }
}

/// A coding key naming a study field in a `DecodingError`.
private struct StudyFieldKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
