/// Shape of the decoder-only transformer.
///
/// Dimension names used throughout the engine (introduced here once):
/// - `V`  = `vocabSize`, tokens in the vocabulary
/// - `C`  = `dModel`, channels of the residual stream
/// - `L`  = `layers`, transformer blocks
/// - `NH` = `heads`, attention heads; `HS` = `C / NH`, channels per head
/// - `F`  = `dFF`, hidden width of the MLP
/// - `maxT` = `contextLength`, longest sequence (rows of the position embedding)
/// - `B`, `T` = batch size and sequence length of one call (T ≤ maxT)
/// - `P` = prefix key/value rows per layer and head (prefix tuning; 0 without it)
///
/// Codable with the keys below; decoding validates, so a bad study file fails with a
/// `ModelConfigError` naming the field instead of crashing later.
public struct ModelConfig: Codable, Equatable, Sendable {
    public var vocabSize: Int
    public var dModel: Int
    public var layers: Int
    public var heads: Int
    public var dFF: Int
    public var contextLength: Int

    enum CodingKeys: String, CodingKey {
        case vocabSize = "vocab_size", dModel = "d_model", layers = "n_layers", heads = "n_heads"
        case dFF = "d_ff", contextLength = "context_length"
    }

    /// Creates and validates a configuration.
    public init(vocabSize: Int, dModel: Int, layers: Int, heads: Int, dFF: Int, contextLength: Int) throws {
        self.vocabSize = vocabSize
        self.dModel = dModel
        self.layers = layers
        self.heads = heads
        self.dFF = dFF
        self.contextLength = contextLength
        try validate()
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(
            vocabSize: c.decode(Int.self, forKey: .vocabSize),
            dModel: c.decode(Int.self, forKey: .dModel),
            layers: c.decode(Int.self, forKey: .layers),
            heads: c.decode(Int.self, forKey: .heads),
            dFF: c.decode(Int.self, forKey: .dFF),
            contextLength: c.decode(Int.self, forKey: .contextLength))
    }

    /// Channels per head, `HS = C / NH`.
    public var headSize: Int { dModel / heads }

    /// Throws the first violated constraint.
    public func validate() throws {
        func positive(_ value: Int, _ field: String) throws {
            if value < 1 { throw ModelConfigError.notPositive(field: field, value: value) }
        }
        try positive(vocabSize, "vocab_size")
        try positive(dModel, "d_model")
        try positive(layers, "n_layers")
        try positive(heads, "n_heads")
        try positive(dFF, "d_ff")
        try positive(contextLength, "context_length")
        if dModel % heads != 0 {
            throw ModelConfigError.headsDoNotDivideModel(dModel: dModel, heads: heads)
        }
    }

    /// The reference configuration of the project's benchmarks (PyTorch comparison).
    public static let reference = try! ModelConfig(
        vocabSize: 96, dModel: 128, layers: 4, heads: 4, dFF: 512, contextLength: 64)
}

/// Why a `ModelConfig` was rejected.
public enum ModelConfigError: Error, Equatable, CustomStringConvertible {
    case notPositive(field: String, value: Int)
    case headsDoNotDivideModel(dModel: Int, heads: Int)

    public var description: String {
        switch self {
        case .notPositive(let field, let value):
            return "model config: \(field) must be ≥ 1, got \(value)"
        case .headsDoNotDivideModel(let dModel, let heads):
            return "model config: d_model (\(dModel)) must be divisible by n_heads (\(heads))"
        }
    }
}
