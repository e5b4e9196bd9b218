/// BitFit (Ben Zaken, Goldberg & Ravfogel 2022, "BitFit: Simple Parameter-efficient
/// Fine-tuning for Transformer-based Masked Language-models"): only the bias terms train —
/// here the biases of q, k, v, o, fc, proj and the LayerNorm shifts (ln1, ln2, ln_f).
///
/// ΔW of every weight matrix is zero by construction, so `delta` returns nil (stated, not
/// measured); the change lives in the biases, which are base views and merge trivially.
/// A LLaMA block has no biases at all, so BitFit is refused there; `ln_tuning` (peft's
/// LN_TUNING, `LNTuning`) is the selection-based method that applies.
public final class BitFit: PEFTMethod {
    public struct Configuration: PEFTMethodConfiguration, Equatable {
        public static let methodName = "bitfit"
        public static let fieldNames: [String] = []
        public init() {}
        public func validate(for config: ModelConfig) throws {
            guard config.architecture == .gpt2 else {
                throw PEFTMethodError.notApplicable(
                    method: Self.methodName,
                    reason: "a \(config.architecture.rawValue) model has no bias terms to train; use ln_tuning (the RMSNorm weights) instead")
            }
        }
        public func makeMethod() -> any PEFTMethod { BitFit(self) }
    }

    public static let methodName = Configuration.methodName
    public let configuration: Configuration
    public let parameters = MethodParameters()
    public var isTraining = true
    public var label: String { "bitfit" }

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        parameters.seal()
    }

    /// Whether a base parameter is one BitFit trains.
    static func trains(_ name: String) -> Bool {
        name.hasSuffix(".bias")
    }

    public func attach(to model: TransformerModel, rng: inout SeededRNG) throws {
        try configuration.validate(for: model.config)
        for name in model.parameters.names {
            model.parameters.setRequiresGrad(Self.trains(name), named: name)
        }
    }

    public func detach(from model: TransformerModel) {
        model.parameters.setRequiresGradForAll(true)
    }

    /// nil: BitFit never changes a weight matrix.
    public func delta(for site: LinearSite, model: TransformerModel) -> Tensor? { nil }

    /// The trained biases are the base's own: merging and unmerging change nothing.
    public var canMerge: Bool { true }
    public func merge(into model: TransformerModel) throws {}
    public func unmerge(from model: TransformerModel) throws {}

    /// Per block: q, k, v, o biases (4C), fc bias (F), proj bias (C), ln1/ln2 shifts (2C);
    /// plus ln_f's shift (C): L·(7C + F) + C.
    public func expectedTrainableParameterCount(config: ModelConfig) -> Int {
        let C = config.dModel, F = config.dFF
        return config.layers * (7 * C + F) + C
    }
}
