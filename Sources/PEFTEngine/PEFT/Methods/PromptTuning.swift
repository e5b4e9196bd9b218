/// Prompt tuning (Lester, Al-Rfou & Constant 2021, "The Power of Scale for
/// Parameter-Efficient Prompt Tuning"): P trainable soft-prompt vectors E [P, C] are
/// prepended to the input embeddings of every sequence; the base model is frozen.
///
///     x₀[b] = [E[0] + wpe[0]; …; E[P−1] + wpe[P−1]; wte[tok₀] + wpe[P]; …; wte[tok_{T−1}] + wpe[P+T−1]]
///
/// The loss, logits and predictions cover the T real tokens (`TransformerModel.softPrompt`,
/// seam d). Positions count the virtual tokens, as HF GPT-2 does under peft (the prompt is
/// concatenated to `inputs_embeds`), so P + T ≤ context length. The model runs the prompt
/// rows once per step and shows them to the tokens as per-layer keys/values, so it needs
/// maxP ≥ P (see `TransformerModel+SoftPrompt.swift`). `E` lives in `parameters` and the
/// model reads it in place: no copies.
///
/// Initialisation (peft's `prompt_tuning_init`): "RANDOM" (peft's default) leaves
/// `nn.Embedding`'s N(0, 1); "TEXT" copies wte rows of the initialisation text's tokens,
/// truncated to P or repeated ⌈P/n⌉ times and truncated, as peft does. There is no tokenizer
/// here, so the text is given as token ids (`prompt_tuning_init_token_ids`).
/// No weight-space delta (`delta` is nil), nothing to merge. Trainable count: P·C.
public final class PromptTuning: PEFTMethod {
    public struct Configuration: PEFTMethodConfiguration, Equatable {
        public static let methodName = "prompt"
        public static let fieldNames = ["num_virtual_tokens", "prompt_tuning_init", "prompt_tuning_init_token_ids"]
        /// Values of `prompt_tuning_init`.
        public static let initialisations = ["RANDOM", "TEXT"]
        /// P (peft has no default; 16 here).
        public var numVirtualTokens: Int
        public var contextPositionsUsed: Int { numVirtualTokens }
        /// "RANDOM" (peft's default) or "TEXT".
        public var promptTuningInit: String
        /// The initialisation text as token ids (required for "TEXT").
        public var promptTuningInitTokenIDs: [Int]?

        enum CodingKeys: String, CodingKey {
            case numVirtualTokens = "num_virtual_tokens", promptTuningInit = "prompt_tuning_init"
            case promptTuningInitTokenIDs = "prompt_tuning_init_token_ids"
        }

        public init(numVirtualTokens: Int = 16, promptTuningInit: String = "RANDOM", promptTuningInitTokenIDs: [Int]? = nil) {
            self.numVirtualTokens = numVirtualTokens
            self.promptTuningInit = promptTuningInit
            self.promptTuningInitTokenIDs = promptTuningInitTokenIDs
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(numVirtualTokens: try c.decodeIfPresent(Int.self, forKey: .numVirtualTokens) ?? 16,
                      promptTuningInit: try c.decodeIfPresent(String.self, forKey: .promptTuningInit) ?? "RANDOM",
                      promptTuningInitTokenIDs: try c.decodeIfPresent([Int].self, forKey: .promptTuningInitTokenIDs))
        }

        public func validate(for config: ModelConfig) throws {
            func invalid(_ key: String, _ reason: String) -> PEFTMethodError {
                .invalidConfiguration(method: Self.methodName, key: key, reason: reason)
            }
            if numVirtualTokens < 1 { throw invalid("num_virtual_tokens", "must be ≥ 1, got \(numVirtualTokens)") }
            if numVirtualTokens >= config.contextLength {
                throw invalid("num_virtual_tokens", "= \(numVirtualTokens) leaves no position for a real token in context_length \(config.contextLength)")
            }
            guard Self.initialisations.contains(promptTuningInit) else {
                throw invalid("prompt_tuning_init", "must be one of \(Self.initialisations.joined(separator: ", ")), got \"\(promptTuningInit)\"")
            }
            if promptTuningInit == "TEXT" {
                guard let ids = promptTuningInitTokenIDs, !ids.isEmpty else {
                    throw invalid("prompt_tuning_init_token_ids", "must list at least one token id when prompt_tuning_init is TEXT")
                }
                if let bad = ids.first(where: { $0 < 0 || $0 >= config.vocabSize }) {
                    throw invalid("prompt_tuning_init_token_ids", "contains \(bad), outside 0..<\(config.vocabSize)")
                }
            }
        }

        /// peft's TEXT rule: the first P ids, the list repeated as often as needed.
        func initTokenIDs() -> [Int] {
            guard let ids = promptTuningInitTokenIDs, !ids.isEmpty else { return [] }
            return (0..<numVirtualTokens).map { ids[$0 % ids.count] }
        }

        public func makeMethod() -> any PEFTMethod { PromptTuning(self) }
    }

    public static let methodName = Configuration.methodName
    public let configuration: Configuration
    public let parameters = MethodParameters()
    /// No dropout: the flag changes nothing.
    public var isTraining = true
    public var label: String { "prompt P=\(configuration.numVirtualTokens) init=\(configuration.promptTuningInit)" }

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public func attach(to model: TransformerModel, rng: inout SeededRNG) throws {
        let config = model.config, P = configuration.numVirtualTokens, C = config.dModel
        try configuration.validate(for: config)
        guard P <= model.activations.maxP else {
            throw PEFTMethodError.invalidConfiguration(
                method: Self.methodName, key: "num_virtual_tokens",
                reason: "= \(P) exceeds the model's prefix capacity maxP = \(model.activations.maxP) (build the model with maxP ≥ \(P))")
        }
        precondition(parameters.views.isEmpty, "PromptTuning: attach called twice")
        let view = parameters.add("prompt_encoder.embedding.weight", shape: [P, C], decays: false)
        parameters.seal()
        if configuration.promptTuningInit == "TEXT" {
            let wte = model.parameters.tensor(named: "wte")
            let rows = parameters.value(view)
            for (p, token) in configuration.initTokenIDs().enumerated() {
                for c in 0..<C { rows[p * C + c] = wte.storage[token * C + c] }
            }
        } else {
            var initRNG = rng.fork("prompt")
            try parameters.load(named: "prompt_encoder.embedding.weight", from: Tensor.normal([P, C], rng: &initRNG))
        }
        model.parameters.setRequiresGradForAll(false)
        model.softPrompt = SoftPrompt(length: P, values: parameters.values, gradients: parameters.gradients,
                                      offset: parameters.views[view].offset)
    }

    public func detach(from model: TransformerModel) {
        if model.softPrompt?.values === parameters.values { model.softPrompt = nil }
        model.parameters.setRequiresGradForAll(true)
    }

    /// nil: prompt tuning changes the input sequence, not any weight matrix.
    public func delta(for site: LinearSite, model: TransformerModel) -> Tensor? { nil }

    /// P·C.
    public func expectedTrainableParameterCount(config: ModelConfig) -> Int {
        configuration.numVirtualTokens * config.dModel
    }
}
