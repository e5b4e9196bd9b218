/// LN tuning (Qi, Wang, Luo & Zhao 2022, "Parameter-Efficient Tuning on Layer Normalization for
/// Pre-trained Language Models"; peft's `LN_TUNING`): only the normalisation layers train —
/// every block's two norms and the final one (LLaMA's RMSNorm gains: peft's
/// `input_layernorm`, `post_attention_layernorm`, `norm`; GPT-2's LayerNorm gains and shifts).
/// Everything else is frozen.
///
/// The selection-based method for models without biases, where BitFit does not apply. peft
/// trains copies of the norm modules and swaps them in; here the norms are the base's own
/// views, so there is nothing to merge, and ΔW of every weight matrix is zero (`delta` nil).
/// Trainable count: L·2C + C on LLaMA, L·4C + 2C on GPT-2.
public final class LNTuning: PEFTMethod {
    public struct Configuration: PEFTMethodConfiguration, Equatable {
        public static let methodName = "ln_tuning"
        public static let fieldNames: [String] = []
        public init() {}
        public func validate(for config: ModelConfig) throws {}
        public func makeMethod() -> any PEFTMethod { LNTuning(self) }
    }

    public static let methodName = Configuration.methodName
    public let configuration: Configuration
    public let parameters = MethodParameters()
    public var isTraining = true
    public var label: String { "ln_tuning" }

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        parameters.seal()
    }

    /// Whether a base parameter is a normalisation layer's (ln1, ln2, ln_f; gain or shift).
    static func trains(_ name: String) -> Bool {
        name.hasPrefix("ln_f.") || name.contains(".ln1.") || name.contains(".ln2.")
    }

    public func attach(to model: TransformerModel, rng: inout SeededRNG) throws {
        for name in model.parameters.names {
            model.parameters.setRequiresGrad(Self.trains(name), named: name)
        }
    }

    public func detach(from model: TransformerModel) {
        model.parameters.setRequiresGradForAll(true)
    }

    /// nil: LN tuning never changes a weight matrix.
    public func delta(for site: LinearSite, model: TransformerModel) -> Tensor? { nil }

    /// The trained norms are the base's own: merging and unmerging change nothing.
    public var canMerge: Bool { true }
    public func merge(into model: TransformerModel) throws {}
    public func unmerge(from model: TransformerModel) throws {}

    /// Three norms of C gains (L per block × 2, plus the final one); GPT-2's LayerNorms also
    /// have C shifts each.
    public func expectedTrainableParameterCount(config: ModelConfig) -> Int {
        let perNorm = config.isLlama ? config.dModel : 2 * config.dModel
        return (2 * config.layers + 1) * perNorm
    }
}
