import PEFTEngine

/// The `model:` block: `ModelConfig`'s keys, with `vocab_size` optional. With a pretrained base
/// the block holds only `context_length`, and `pretrained` the checkpoint's architecture.
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
    /// The pretrained base's architecture (LLaMA family); nil for a from-scratch GPT-2 model.
    public var pretrained: LlamaCheckpoint.Config?

    /// The shape of a pretrained base, cut to `contextLength` positions.
    public init(pretrained config: LlamaCheckpoint.Config, contextLength: Int) {
        self.init(vocabSize: config.vocab, dModel: config.hidden, layers: config.layers, heads: config.heads,
                  dFF: config.intermediate, contextLength: contextLength)
        pretrained = config
    }

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
        if let pretrained { return try pretrained.modelConfig(contextLength: contextLength) }
        return try ModelConfig(vocabSize: vocabSize ?? vocabularySize, dModel: dModel, layers: layers, heads: heads,
                        dFF: dFF, contextLength: contextLength)
    }

    static let keys = ["vocab_size", "d_model", "n_layers", "n_heads", "d_ff", "context_length"]
}
