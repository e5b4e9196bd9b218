/// LoRA (Hu, Shen, Wallis, Allen-Zhu, Li, Wang, Wang & Chen 2021, "LoRA: Low-Rank Adaptation
/// of Large Language Models"): every adapted linear site gains a trainable low-rank path,
///
///     y = x·Wᵀ + b + s·(x̃·Aᵀ)·Bᵀ,   ΔW = s·B·A,   s = α/r  (α/√r with `use_rslora`),
///
/// A [r, in] Kaiming-uniform (bound 1/√in, peft's `kaiming_uniform_(a=√5)`), B [out, r] zero,
/// so a fresh LoRA leaves the logits unchanged. x̃ is x after `lora_dropout` (training mode
/// only; see `LowRankPath` for the seeded mask). All base parameters are frozen.
/// Trainable parameters: Σ over adapted sites of r·(in + out).
///
/// peft conventions kept: names "….lora_A"/"….lora_B", scaling α/r, dropout on the path's
/// input only, no weight decay on A and B (AdamW applies decay only where the view says so).
/// `merge` adds s·B·A into W and stops the path; `unmerge` subtracts it and restores the path.
///
/// Execution: with dropout in effect the path is additive (`forward` adds s·h·Bᵀ, `backward`
/// returns nil); otherwise it is folded into the weight, `effectiveWeight` = W + s·B·A (same
/// function, fewer passes over the rows; see `LowRankPath`).
public final class LoRA: PEFTMethod, LinearSiteHook {
    /// peft's `LoraConfig` fields (see `LoRAHyperparameters` for keys and defaults).
    public struct Configuration: PEFTMethodConfiguration, Equatable {
        public static let methodName = "lora"
        public static let fieldNames = LoRAHyperparameters.fieldNames
        public var hyperparameters: LoRAHyperparameters

        public init(_ hyperparameters: LoRAHyperparameters = LoRAHyperparameters()) {
            self.hyperparameters = hyperparameters
        }

        public init(from decoder: any Decoder) throws { hyperparameters = try LoRAHyperparameters(from: decoder) }
        public func encode(to encoder: any Encoder) throws { try hyperparameters.encode(to: encoder) }

        public func validate(for config: ModelConfig) throws {
            try hyperparameters.validate(method: Self.methodName, for: config)
        }

        public func makeMethod() -> any PEFTMethod { LoRA(self) }
    }

    public static let methodName = Configuration.methodName
    public let configuration: Configuration
    public private(set) var parameters = MethodParameters()
    public var isTraining = true { didSet { path?.isTraining = isTraining } }
    public var label: String { "lora " + configuration.hyperparameters.labelFragment }
    /// The low-rank path; nil until attached.
    private(set) var path: LowRankPath?
    /// The model's parameter values (W of every site) and one W_eff target [max out·in].
    private var baseValues: FloatArena?
    private var baseOffsets: [LinearSite: Int] = [:]
    private var folded = FloatArena(count: 0)

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Validates, freezes every base parameter, declares and initialises A and B, installs the hook.
    public func attach(to model: TransformerModel, rng: inout SeededRNG) throws {
        let h = configuration.hyperparameters
        try h.validate(method: Self.methodName, for: model.config)
        parameters = MethodParameters()
        let path = LowRankPath(
            sites: h.sites(model.config), config: model.config, hyperparameters: h,
            parameters: parameters, maxRows: model.activations.maxB * model.activations.maxT, rng: rng)
        parameters.seal()
        path.initialize(parameters: parameters, rng: rng)
        path.isTraining = isTraining
        self.path = path
        baseValues = model.parameters.values
        baseOffsets = [:]
        for slot in path.slots { baseOffsets[slot.site] = model.parameters.view(named: slot.site.weightName).offset }
        folded = FloatArena(count: path.slots.map { $0.input * $0.output }.max() ?? 0)
        model.parameters.setRequiresGradForAll(false)
        model.linearHook = self
    }

    public func detach(from model: TransformerModel) {
        if model.linearHook === self { model.linearHook = nil }
        model.parameters.setRequiresGradForAll(true)
    }

    // MARK: LinearSiteHook (the base output's gradient is dy itself: backward returns nil)

    /// Folded mode: W + s·B·A in a scratch buffer valid until the next call; else nil.
    public func effectiveWeight(for site: LinearSite) -> UnsafePointer<Float>? {
        guard let path, path.isFolded, let slot = path.slot(for: site), let base = baseValues,
              let offset = baseOffsets[site] else { return nil }
        path.foldedWeight(slot, weight: base.at(offset), into: folded.pointer, parameters: parameters)
        return UnsafePointer(folded.pointer)
    }

    /// Only the additive form (dropout in effect) adds ĝ·A into dx itself.
    public func accumulatesInputGradient(for site: LinearSite) -> Bool {
        path?.addsInputGradient(at: site) ?? false
    }

    public func forward(site: LinearSite, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int) {
        path?.forward(site: site, x: x, y: y, rows: rows, parameters: parameters)
    }

    public func backward(
        site: LinearSite, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int
    ) -> UnsafePointer<Float>? {
        path?.backward(site: site, x: x, dy: dy, dx: dx, rows: rows, parameters: parameters)
        return nil
    }

    // MARK: Weight space

    /// ΔW = s·B·A at an adapted site, nil elsewhere.
    public func delta(for site: LinearSite, model: TransformerModel) -> Tensor? {
        path?.delta(for: site, parameters: parameters)
    }

    public var canMerge: Bool { true }

    /// W ← W + s·B·A at every adapted site; the path then adds nothing.
    public func merge(into model: TransformerModel) throws {
        guard let path else { throw PEFTMethodError.notAttached(method: Self.methodName) }
        path.setMerged(true, model: model, parameters: parameters)
    }

    /// W ← W − s·B·A (W0 to within one rounding per element); the path is active again.
    public func unmerge(from model: TransformerModel) throws {
        guard let path else { throw PEFTMethodError.notAttached(method: Self.methodName) }
        path.setMerged(false, model: model, parameters: parameters)
    }

    /// Whether the update currently lives in the base weights.
    public var isMerged: Bool { path?.isMerged ?? false }

    /// Σ over adapted sites of r·(in + out) (Hu et al. 2021, §4.1: A ∈ ℝ^{r×k}, B ∈ ℝ^{d×r}).
    public func expectedTrainableParameterCount(config: ModelConfig) -> Int {
        configuration.hyperparameters.lowRankParameterCount(config: config)
    }
}
