import Foundation

/// Prefix tuning (Li & Liang 2021, "Prefix-Tuning: Optimizing Continuous Prompts for
/// Generation"): every layer's attention sees P trainable key and value rows per head in
/// front of the causal part (`TransformerModel.prefix`, seam c); the base model is frozen.
///
/// peft's `PrefixEncoder` produces the prefix as one matrix Y [P, 2·L·C]:
/// - without projection, Y is the embedding itself (the trainable parameters ARE the
///   prefix): Y = E, E [P, 2·L·C];
/// - with `prefix_projection`, the paper's reparametrisation:
///   Y = tanh(E·W1ᵀ + b1)·W2ᵀ + b2, E [P, C], W1 [h, C], W2 [2·L·C, h], h = `encoder_hidden_size`.
///
/// Reshape (peft's `past_key_values`: view [P, 2L, NH, HS], permute, split by layer):
/// column j = ((2l + kv)·NH + h)·HS + i of row p is `keys` (kv = 0) or `values` (kv = 1)
/// [l, h, p, i] of the model's `PrefixKV` [L, NH, P, HS]. `prepareForward` computes Y and
/// scatters it; `finishBackward` gathers the prefix gradients into dY and backpropagates
/// through the MLP by hand:
///   dW2 += dYᵀ·H,  db2 += Σ_p dY,  dU = (dY·W2) ⊙ (1 − H²),  dW1 += dUᵀ·E,  db1 += Σ_p dU,  dE += dU·W1.
///
/// Initialisation as peft / PyTorch defaults: E ~ N(0, 1) (`nn.Embedding`), W and b of each
/// `nn.Linear` uniform in ±1/√fan_in. Positions: the engine numbers the real tokens 0..<T;
/// HF GPT-2 given P cached key/value rows starts them at P (documented difference).
/// No weight-space delta (`delta` is nil) and nothing to merge. Trainable count:
/// 2·L·C·P without projection; P·C + (C·h + h) + (h·2LC + 2LC) with it. Here C is peft's
/// `token_dim`: d_model, or KV·HS under grouped-query attention (peft sizes the prefix by the
/// key/value heads, so LLaMA's prefix rows are [KV, P, HS] per layer).
public final class PrefixTuning: PEFTMethod {
    public struct Configuration: PEFTMethodConfiguration, Equatable {
        public static let methodName = "prefix"
        public static let fieldNames = ["num_virtual_tokens", "prefix_projection", "encoder_hidden_size"]
        /// P (peft has no default; 16 here).
        public var numVirtualTokens: Int
        /// Whether to reparametrise through the two-layer tanh MLP (peft default false).
        public var prefixProjection: Bool
        /// h, the MLP's hidden width; nil means C (peft sets it to `token_dim` when unset).
        public var encoderHiddenSize: Int?

        enum CodingKeys: String, CodingKey {
            case numVirtualTokens = "num_virtual_tokens", prefixProjection = "prefix_projection"
            case encoderHiddenSize = "encoder_hidden_size"
        }

        public init(numVirtualTokens: Int = 16, prefixProjection: Bool = false, encoderHiddenSize: Int? = nil) {
            self.numVirtualTokens = numVirtualTokens
            self.prefixProjection = prefixProjection
            self.encoderHiddenSize = encoderHiddenSize
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(numVirtualTokens: try c.decodeIfPresent(Int.self, forKey: .numVirtualTokens) ?? 16,
                      prefixProjection: try c.decodeIfPresent(Bool.self, forKey: .prefixProjection) ?? false,
                      encoderHiddenSize: try c.decodeIfPresent(Int.self, forKey: .encoderHiddenSize))
        }

        /// h on a model of width C.
        func hiddenSize(_ config: ModelConfig) -> Int { encoderHiddenSize ?? config.kvChannels }

        public func validate(for config: ModelConfig) throws {
            if numVirtualTokens < 1 {
                throw PEFTMethodError.invalidConfiguration(method: Self.methodName, key: "num_virtual_tokens", reason: "must be ≥ 1, got \(numVirtualTokens)")
            }
            if let h = encoderHiddenSize, h < 1 {
                throw PEFTMethodError.invalidConfiguration(method: Self.methodName, key: "encoder_hidden_size", reason: "must be ≥ 1, got \(h)")
            }
        }

        public var prefixPositions: Int { numVirtualTokens }

        public func makeMethod() -> any PEFTMethod { PrefixTuning(self) }
    }

    public static let methodName = Configuration.methodName
    public let configuration: Configuration
    public let parameters = MethodParameters()
    /// No dropout: the flag changes nothing.
    public var isTraining = true
    public var label: String {
        configuration.prefixProjection
            ? "prefix P=\(configuration.numVirtualTokens) projection h=\(configuration.encoderHiddenSize.map(String.init) ?? "C")"
            : "prefix P=\(configuration.numVirtualTokens)"
    }

    /// The model's prefix rows (installed as `model.prefix` while attached).
    public private(set) var prefix: PrefixKV?
    /// View indices: E, and with projection W1, b1, W2, b2.
    private var embedding = 0, w1 = 0, b1 = 0, w2 = 0, b2 = 0
    /// Projection scratch: H [P, h] (after tanh), Y and dY [P, 2LC], dH [P, h].
    private var hidden = FloatArena(count: 0), flat = FloatArena(count: 0)
    private var dflat = FloatArena(count: 0), dhidden = FloatArena(count: 0)
    private var h = 0

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public func attach(to model: TransformerModel, rng: inout SeededRNG) throws {
        let config = model.config, P = configuration.numVirtualTokens
        try configuration.validate(for: config)
        guard P <= model.activations.maxP else {
            throw PEFTMethodError.invalidConfiguration(
                method: Self.methodName, key: "num_virtual_tokens",
                reason: "= \(P) exceeds the model's prefix capacity maxP = \(model.activations.maxP) (build the model with maxP ≥ \(P))")
        }
        precondition(parameters.views.isEmpty, "PrefixTuning: attach called twice")
        let C = config.kvChannels, width = 2 * config.layers * C
        h = configuration.hiddenSize(config)
        var initRNG = rng.fork("prefix")
        var inits: [Tensor] = []
        if configuration.prefixProjection {
            embedding = parameters.add("prefix_encoder.embedding.weight", shape: [P, C], decays: false)
            w1 = parameters.add("prefix_encoder.transform.0.weight", shape: [h, C], decays: false)
            b1 = parameters.add("prefix_encoder.transform.0.bias", shape: [h], decays: false)
            w2 = parameters.add("prefix_encoder.transform.2.weight", shape: [width, h], decays: false)
            b2 = parameters.add("prefix_encoder.transform.2.bias", shape: [width], decays: false)
            let bound1 = Tensor.kaimingUniformBound(fanIn: C), bound2 = Tensor.kaimingUniformBound(fanIn: h)
            inits = [Tensor.normal([P, C], rng: &initRNG),
                     Tensor.kaimingUniform(shape: [h, C], rng: &initRNG),
                     Tensor.uniform([h], low: -bound1, high: bound1, rng: &initRNG),
                     Tensor.kaimingUniform(shape: [width, h], rng: &initRNG),
                     Tensor.uniform([width], low: -bound2, high: bound2, rng: &initRNG)]
            hidden = FloatArena(count: P * h); dhidden = FloatArena(count: P * h)
            flat = FloatArena(count: P * width); dflat = FloatArena(count: P * width)
        } else {
            embedding = parameters.add("prefix_encoder.embedding.weight", shape: [P, width], decays: false)
            inits = [Tensor.normal([P, width], rng: &initRNG)]
        }
        parameters.seal()
        for (view, tensor) in zip(parameters.views, inits) { try parameters.load(named: view.name, from: tensor) }
        model.parameters.setRequiresGradForAll(false)
        let kv = PrefixKV(config: config, length: P)
        prefix = kv
        model.prefix = kv
        prepareForward(model: model)
    }

    public func detach(from model: TransformerModel) {
        if model.prefix === prefix { model.prefix = nil }
        model.parameters.setRequiresGradForAll(true)
    }

    /// Computes Y (the embedding itself, or the MLP's output) and scatters it into the prefix.
    public func prepareForward(model: TransformerModel) {
        guard let prefix else { return }
        let P = prefix.length, C = model.config.kvChannels, width = 2 * model.config.layers * C
        guard configuration.prefixProjection else {
            Self.scatter(UnsafePointer(parameters.value(embedding)), into: prefix)
            return
        }
        let p = parameters
        Linear.forward(out: hidden.pointer, x: p.value(embedding), weight: p.value(w1), bias: p.value(b1), M: P, IC: C, OC: h)
        let H = hidden.pointer
        for i in 0..<(P * h) { H[i] = tanhf(H[i]) }
        Linear.forward(out: flat.pointer, x: H, weight: p.value(w2), bias: p.value(b2), M: P, IC: h, OC: width)
        Self.scatter(UnsafePointer(flat.pointer), into: prefix)
    }

    /// Gathers the prefix gradients into dY and chains them into the method's parameters.
    public func finishBackward(model: TransformerModel) {
        guard let prefix else { return }
        let P = prefix.length, C = model.config.kvChannels, width = 2 * model.config.layers * C
        guard configuration.prefixProjection else {
            Self.gatherGradients(from: prefix, into: parameters.gradient(embedding))
            return
        }
        let p = parameters
        dflat.zeroAll()
        Self.gatherGradients(from: prefix, into: dflat.pointer)
        dhidden.zeroAll()
        Linear.backward(dx: dhidden.pointer, dweight: p.gradient(w2), dbias: p.gradient(b2),
                        dout: dflat.pointer, x: hidden.pointer, weight: p.value(w2), M: P, IC: h, OC: width)
        let H = hidden.pointer, dH = dhidden.pointer
        for i in 0..<(P * h) { dH[i] *= 1 - H[i] * H[i] }
        Linear.backward(dx: p.gradient(embedding), dweight: p.gradient(w1), dbias: p.gradient(b1),
                        dout: dH, x: p.value(embedding), weight: p.value(w1), M: P, IC: C, OC: h)
    }

    /// Copies Y [P, 2·L·C] (peft's layout) into `keys`/`values` [L, NH, P, HS].
    static func scatter(_ y: UnsafePointer<Float>, into prefix: PrefixKV) {
        let L = prefix.layers, NH = prefix.heads, P = prefix.length, HS = prefix.headSize
        let width = 2 * L * NH * HS
        let keys = prefix.keys.pointer, values = prefix.values.pointer
        for p in 0..<P {
            for l in 0..<L {
                for kv in 0..<2 {
                    let destination = kv == 0 ? keys : values
                    for head in 0..<NH {
                        let source = y + p * width + ((2 * l + kv) * NH + head) * HS
                        (destination + ((l * NH + head) * P + p) * HS).update(from: source, count: HS)
                    }
                }
            }
        }
    }

    /// Accumulates `keyGradients`/`valueGradients` [L, NH, P, HS] into dY [P, 2·L·C].
    static func gatherGradients(from prefix: PrefixKV, into dy: UnsafeMutablePointer<Float>) {
        let L = prefix.layers, NH = prefix.heads, P = prefix.length, HS = prefix.headSize
        let width = 2 * L * NH * HS
        let dkeys = prefix.keyGradients.pointer, dvalues = prefix.valueGradients.pointer
        for p in 0..<P {
            for l in 0..<L {
                for kv in 0..<2 {
                    let source = kv == 0 ? dkeys : dvalues
                    for head in 0..<NH {
                        let d = dy + p * width + ((2 * l + kv) * NH + head) * HS
                        let g = source + ((l * NH + head) * P + p) * HS
                        for i in 0..<HS { d[i] += g[i] }
                    }
                }
            }
        }
    }

    /// nil: prefix tuning changes the keys and values seen, not any weight matrix.
    public func delta(for site: LinearSite, model: TransformerModel) -> Tensor? { nil }

    /// 2·L·C·P without projection; P·C + (C·h + h) + (h·2LC + 2LC) with it. Here C is peft's
/// `token_dim`: d_model, or KV·HS under grouped-query attention (peft sizes the prefix by the
/// key/value heads, so LLaMA's prefix rows are [KV, P, HS] per layer).
    public func expectedTrainableParameterCount(config: ModelConfig) -> Int {
        let P = configuration.numVirtualTokens, C = config.kvChannels, twoLC = 2 * config.layers * C
        guard configuration.prefixProjection else { return twoLC * P }
        let h = configuration.hiddenSize(config)
        return P * C + (C * h + h) + (h * twoLC + twoLC)
    }
}
