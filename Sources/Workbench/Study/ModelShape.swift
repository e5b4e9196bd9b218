import PEFTEngine

/// The `model:` block: `ModelConfig`'s keys, with `vocab_size` optional.
///
/// When `vocab_size` is omitted it is the tasks' shared vocabulary's size (`Vocabulary.size`),
/// for the parser's checks (a prompt's TEXT initialisation checks its token ids against it)
/// and for the runner alike.
public struct ModelShape: Equatable, Sendable {
    public var vocabSize: Int?
    public var dModel: Int
    public var layers: Int
    public var heads: Int
    public var dFF: Int
    public var contextLength: Int

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
