/// Full fine-tuning: every base parameter is trainable. The reference every PEFT method is
/// compared with; its ΔW = W − W0 is the object of the low-rank hypothesis.
public final class FullFineTuning: PEFTMethod {
    /// No hyperparameters beyond the optimizer's.
    public struct Configuration: PEFTMethodConfiguration, Equatable {
        public static let methodName = "full"
        public static let fieldNames: [String] = []
        public init() {}
        public func validate(for config: ModelConfig) throws {}
        public func makeMethod() -> any PEFTMethod { FullFineTuning(self) }
    }

    public static let methodName = Configuration.methodName
    public let configuration: Configuration
    public let parameters = MethodParameters()
    public var isTraining = true
    public var label: String { "full" }
    /// W0 of every linear site, snapshotted at attach (ΔW is measured against it).
    private var initialWeights: [LinearSite: Tensor] = [:]

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
        parameters.seal()
    }

    public func attach(to model: TransformerModel, rng: inout SeededRNG) throws {
        model.parameters.setRequiresGradForAll(true)
        initialWeights = [:]
        for site in LinearSite.all(model.config) {
            initialWeights[site] = model.parameters.tensor(named: site.weightName)
        }
    }

    public func detach(from model: TransformerModel) {
        model.parameters.setRequiresGradForAll(true)
    }

    /// ΔW = W − W0.
    public func delta(for site: LinearSite, model: TransformerModel) -> Tensor? {
        guard let w0 = initialWeights[site] else { return nil }
        return model.parameters.tensor(named: site.weightName) - w0
    }

    /// The update already lives in the base weights: merging and unmerging change nothing.
    public var canMerge: Bool { true }
    public func merge(into model: TransformerModel) throws {}
    public func unmerge(from model: TransformerModel) throws {}

    /// Every parameter. GPT-2: V·C + maxT·C + L·(4(C² + C) + 4C + 2CF + F + C) + 2C + V·C.
    /// LLaMA (KVC = KV·HS): V·C + L·(2C² + 2·C·KVC + 3CF + 2C) + C, plus V·C for an own head
    /// (SmolLM2-135M: 134,515,008).
    public func expectedTrainableParameterCount(config: ModelConfig) -> Int {
        let V = config.vocabSize, C = config.dModel, F = config.dFF, T = config.contextLength, L = config.layers
        if config.isLlama {
            let block = 2 * C * C + 2 * C * config.kvChannels + 3 * C * F + 2 * C
            return V * C + L * block + C + (config.tiedEmbeddings ? 0 : V * C)
        }
        let block = 4 * (C * C + C) + 2 * C + 2 * C + (F * C + F) + (C * F + C)
        return V * C + T * C + L * block + 2 * C + V * C
    }
}
