import PEFTEngine

/// The `model:` block: `ModelConfig`'s keys, with `vocab_size` optional.
///
/// When `vocab_size` is omitted the runner takes it from the tasks' shared vocabulary;
/// until then, checks that need a full `ModelConfig` use `provisionalVocabularySize` (no
/// method's shape check depends on the vocabulary).
public struct ModelShape: Equatable, Sendable {
    public var vocabSize: Int?
    public var dModel: Int
    public var layers: Int
    public var heads: Int
    public var dFF: Int
    public var contextLength: Int

    /// Stands in for an omitted `vocab_size` during parse-time validation only.
    public static let provisionalVocabularySize = 1

    public init(vocabSize: Int?, dModel: Int, layers: Int, heads: Int, dFF: Int, contextLength: Int) {
        self.vocabSize = vocabSize
        self.dModel = dModel
        self.layers = layers
        self.heads = heads
        self.dFF = dFF
        self.contextLength = contextLength
    }

    /// The engine's configuration, with `vocab_size` from the file or else `vocabularySize`.
    public func modelConfig(vocabularySize: Int) throws -> ModelConfig {
        try ModelConfig(vocabSize: vocabSize ?? vocabularySize, dModel: dModel, layers: layers, heads: heads,
                        dFF: dFF, contextLength: contextLength)
    }

    static let keys = ["vocab_size", "d_model", "n_layers", "n_heads", "d_ff", "context_length"]
}
