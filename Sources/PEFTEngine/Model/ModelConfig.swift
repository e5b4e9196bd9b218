/// Shape of the decoder-only transformer, and which block it is built from.
///
/// Dimension names used throughout the engine (introduced here once):
/// - `V`  = `vocabSize`, tokens in the vocabulary
/// - `C`  = `dModel`, channels of the residual stream
/// - `L`  = `layers`, transformer blocks
/// - `NH` = `heads`, attention heads; `HS` = `C / NH`, channels per head
/// - `KV` = `kvHeads`, key/value heads (grouped-query attention; = NH for GPT-2), `KVC` = KV·HS
/// - `F`  = `dFF`, hidden width of the MLP
/// - `maxT` = `contextLength`, longest sequence (rows of the position embedding, or of the
///   rotary table)
/// - `B`, `T` = batch size and sequence length of one call (T ≤ maxT)
/// - `P` = prefix key/value rows per layer and head (prefix tuning; 0 without it)
///
/// Two blocks (`Architecture`):
/// - `gpt2`: learned positions, LayerNorm, GELU MLP (fc, proj), biases, untied head;
/// - `llama` (Touvron et al. 2023): RMSNorm, rotary positions (θ = `ropeTheta`), SwiGLU MLP
///   (gate, up, down), grouped-query attention, no biases, tied or own head.
///
/// Codable with the keys below; decoding validates, so a bad study file fails with a
/// `ModelConfigError` naming the field instead of crashing later. A GPT-2 configuration
/// encodes only its six keys (as before the LLaMA block existed).
public struct ModelConfig: Codable, Equatable, Sendable {
    /// Which block the model is built from.
    public enum Architecture: String, Codable, CaseIterable, Sendable {
        case gpt2, llama
    }

    public var architecture: Architecture
    public var vocabSize: Int
    public var dModel: Int
    public var layers: Int
    public var heads: Int
    /// Key/value heads; divides `heads`. Always `heads` for GPT-2.
    public var kvHeads: Int
    public var dFF: Int
    public var contextLength: Int
    /// RoPE base θ (LLaMA only).
    public var ropeTheta: Double
    /// RMSNorm ε (LLaMA only).
    public var rmsNormEpsilon: Float
    /// Whether the output head is `wte` itself (LLaMA only; GPT-2 has its own `lm_head`).
    public var tiedEmbeddings: Bool

    enum CodingKeys: String, CodingKey {
        case architecture
        case vocabSize = "vocab_size", dModel = "d_model", layers = "n_layers", heads = "n_heads"
        case kvHeads = "n_kv_heads"
        case dFF = "d_ff", contextLength = "context_length"
        case ropeTheta = "rope_theta", rmsNormEpsilon = "rms_norm_eps", tiedEmbeddings = "tie_word_embeddings"
    }

    /// Creates and validates a GPT-2-style configuration.
    public init(vocabSize: Int, dModel: Int, layers: Int, heads: Int, dFF: Int, contextLength: Int) throws {
        try self.init(architecture: .gpt2, vocabSize: vocabSize, dModel: dModel, layers: layers, heads: heads,
                      kvHeads: heads, dFF: dFF, contextLength: contextLength)
    }

    /// Creates and validates a configuration of either block. The LLaMA defaults are
    /// transformers' `LlamaConfig` ones except ε, which is SmolLM2's 1e-5.
    public init(architecture: Architecture, vocabSize: Int, dModel: Int, layers: Int, heads: Int, kvHeads: Int,
                dFF: Int, contextLength: Int, ropeTheta: Double = 10_000, rmsNormEpsilon: Float = 1e-5,
                tiedEmbeddings: Bool = false) throws {
        self.architecture = architecture
        self.vocabSize = vocabSize
        self.dModel = dModel
        self.layers = layers
        self.heads = heads
        self.kvHeads = kvHeads
        self.dFF = dFF
        self.contextLength = contextLength
        self.ropeTheta = ropeTheta
        self.rmsNormEpsilon = rmsNormEpsilon
        self.tiedEmbeddings = tiedEmbeddings
        try validate()
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let architecture = try c.decodeIfPresent(Architecture.self, forKey: .architecture) ?? .gpt2
        let heads = try c.decode(Int.self, forKey: .heads)
        try self.init(
            architecture: architecture,
            vocabSize: c.decode(Int.self, forKey: .vocabSize),
            dModel: c.decode(Int.self, forKey: .dModel),
            layers: c.decode(Int.self, forKey: .layers),
            heads: heads,
            kvHeads: c.decodeIfPresent(Int.self, forKey: .kvHeads) ?? heads,
            dFF: c.decode(Int.self, forKey: .dFF),
            contextLength: c.decode(Int.self, forKey: .contextLength),
            ropeTheta: c.decodeIfPresent(Double.self, forKey: .ropeTheta) ?? 10_000,
            rmsNormEpsilon: c.decodeIfPresent(Float.self, forKey: .rmsNormEpsilon) ?? 1e-5,
            tiedEmbeddings: c.decodeIfPresent(Bool.self, forKey: .tiedEmbeddings) ?? false)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(vocabSize, forKey: .vocabSize)
        try c.encode(dModel, forKey: .dModel)
        try c.encode(layers, forKey: .layers)
        try c.encode(heads, forKey: .heads)
        try c.encode(dFF, forKey: .dFF)
        try c.encode(contextLength, forKey: .contextLength)
        guard architecture != .gpt2 else { return }
        try c.encode(architecture, forKey: .architecture)
        try c.encode(kvHeads, forKey: .kvHeads)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encode(rmsNormEpsilon, forKey: .rmsNormEpsilon)
        try c.encode(tiedEmbeddings, forKey: .tiedEmbeddings)
    }

    /// Channels per head, `HS = C / NH`.
    public var headSize: Int { dModel / heads }

    /// Channels of the key and value projections, `KVC = KV · HS` (= C without GQA).
    public var kvChannels: Int { kvHeads * headSize }

    /// Whether the block is LLaMA's.
    public var isLlama: Bool { architecture == .llama }

    /// Throws the first violated constraint.
    public func validate() throws {
        func positive(_ value: Int, _ field: String) throws {
            if value < 1 { throw ModelConfigError.notPositive(field: field, value: value) }
        }
        try positive(vocabSize, "vocab_size")
        try positive(dModel, "d_model")
        try positive(layers, "n_layers")
        try positive(heads, "n_heads")
        try positive(kvHeads, "n_kv_heads")
        try positive(dFF, "d_ff")
        try positive(contextLength, "context_length")
        if dModel % heads != 0 {
            throw ModelConfigError.headsDoNotDivideModel(dModel: dModel, heads: heads)
        }
        switch architecture {
        case .gpt2:
            if kvHeads != heads { throw ModelConfigError.notForArchitecture(field: "n_kv_heads", architecture: architecture) }
            if tiedEmbeddings { throw ModelConfigError.notForArchitecture(field: "tie_word_embeddings", architecture: architecture) }
        case .llama:
            if heads % kvHeads != 0 { throw ModelConfigError.kvHeadsDoNotDivideHeads(heads: heads, kvHeads: kvHeads) }
            if headSize % 2 != 0 { throw ModelConfigError.oddHeadSize(headSize) }
            if !(ropeTheta.isFinite && ropeTheta > 0) { throw ModelConfigError.notPositiveReal(field: "rope_theta", value: ropeTheta) }
            if !(rmsNormEpsilon.isFinite && rmsNormEpsilon > 0) {
                throw ModelConfigError.notPositiveReal(field: "rms_norm_eps", value: Double(rmsNormEpsilon))
            }
        }
    }

    /// The reference configuration of the project's benchmarks (PyTorch comparison).
    public static let reference = try! ModelConfig(
        vocabSize: 96, dModel: 128, layers: 4, heads: 4, dFF: 512, contextLength: 64)

    /// SmolLM2-135M's shape (HuggingFaceTB/SmolLM2-135M config.json), with `contextLength`
    /// positions of the rotary table (the model's own is 8192).
    public static func smolLM2(contextLength: Int = 2048) -> ModelConfig {
        try! ModelConfig(architecture: .llama, vocabSize: 49_152, dModel: 576, layers: 30, heads: 9, kvHeads: 3,
                         dFF: 1536, contextLength: contextLength, ropeTheta: 100_000, rmsNormEpsilon: 1e-5,
                         tiedEmbeddings: true)
    }
}

/// Why a `ModelConfig` was rejected.
public enum ModelConfigError: Error, Equatable, CustomStringConvertible {
    case notPositive(field: String, value: Int)
    case notPositiveReal(field: String, value: Double)
    case headsDoNotDivideModel(dModel: Int, heads: Int)
    case kvHeadsDoNotDivideHeads(heads: Int, kvHeads: Int)
    case oddHeadSize(Int)
    case notForArchitecture(field: String, architecture: ModelConfig.Architecture)
    case wrongTensorShape(name: String, shape: [Int], expected: [Int])

    public var description: String {
        switch self {
        case .notPositive(let field, let value):
            return "model config: \(field) must be ≥ 1, got \(value)"
        case .notPositiveReal(let field, let value):
            return "model config: \(field) must be finite and positive, got \(value)"
        case .headsDoNotDivideModel(let dModel, let heads):
            return "model config: d_model (\(dModel)) must be divisible by n_heads (\(heads))"
        case .kvHeadsDoNotDivideHeads(let heads, let kvHeads):
            return "model config: n_kv_heads (\(kvHeads)) must divide n_heads (\(heads))"
        case .oddHeadSize(let hs):
            return "model config: the head size d_model/n_heads = \(hs) must be even for rotary embeddings"
        case .notForArchitecture(let field, let architecture):
            return "model config: \(field) does not apply to architecture \(architecture.rawValue)"
        case .wrongTensorShape(let name, let shape, let expected):
            return "model config: tensor \(name) has shape \(shape), the configuration needs \(expected)"
        }
    }
}
