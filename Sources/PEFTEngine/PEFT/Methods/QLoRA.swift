/// QLoRA (Dettmers, Pagnoni, Holtzman & Zettlemoyer 2023, "QLoRA: Efficient Finetuning of
/// Quantized LLMs"): LoRA on a frozen base whose linear matrices are stored in 4 bits,
///
///     y = x·deq(Q(W0))ᵀ + b + s·(x̃·Aᵀ)·Bᵀ,   ΔW = s·B·A  (relative to W0_q = deq(Q(W0))),
///
/// Q = blockwise NF4 (or bitsandbytes' FP4) with blocksize 64 and, by default, double quantization of the
/// block absmaxes (`QuantizedTensor`). As with bitsandbytes' `load_in_4bit`, every linear
/// matrix of every block (q, k, v, o, fc, proj; LLaMA's q … down) is quantized, whichever sites LoRA adapts;
/// embeddings, LayerNorms, biases and lm_head stay Float32.
///
/// At attach each matrix is quantized once; forward and backward read only the packed form,
/// dequantized on the fly into one scratch buffer per `effectiveWeight` call (the pointer stays
/// valid until the next call, which covers the base backward). The model's Float32 copy is
/// overwritten with W0_q so that merge, ΔW and analysis see the quantized base; detaching
/// leaves it there (quantizing is one-way). `frozenBytes` counts the packed codes and
/// constants for the quantized matrices and Float32 for the rest (the Float32 shadow copy
/// this engine keeps for analysis is not counted).
///
/// Defaults: `bnb_4bit_quant_type` "nf4", `bnb_4bit_use_double_quant` true (the paper's
/// setting; transformers' `BitsAndBytesConfig` defaults it to false). `merge` writes
/// W0_q + s·B·A into the Float32 arena; a real bitsandbytes merge would re-quantize the sum
/// (the analysis measures that separately). The low-rank path is LoRA's (`LowRankPath`).
public final class QLoRA: PEFTMethod, LinearSiteHook {
    /// bitsandbytes' block size for NF4 weights.
    public static let blocksize = 64

    /// peft's `LoraConfig` fields plus transformers' `BitsAndBytesConfig` 4-bit fields.
    public struct Configuration: PEFTMethodConfiguration, Equatable {
        public static let methodName = "qlora"
        public static let fieldNames = LoRAHyperparameters.fieldNames + ["bnb_4bit_use_double_quant", "bnb_4bit_quant_type"]
        public var hyperparameters: LoRAHyperparameters
        /// Quantize the block absmaxes again to 8 bits (≈ 4.127 instead of 4.5 bits per parameter).
        public var useDoubleQuant: Bool
        /// "nf4" or "fp4".
        public var quantType: String

        public init(_ hyperparameters: LoRAHyperparameters = LoRAHyperparameters(), useDoubleQuant: Bool = true, quantType: String = "nf4") {
            self.hyperparameters = hyperparameters
            self.useDoubleQuant = useDoubleQuant
            self.quantType = quantType
        }

        enum CodingKeys: String, CodingKey {
            case useDoubleQuant = "bnb_4bit_use_double_quant", quantType = "bnb_4bit_quant_type"
        }

        public init(from decoder: any Decoder) throws {
            hyperparameters = try LoRAHyperparameters(from: decoder)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            useDoubleQuant = try c.decodeIfPresent(Bool.self, forKey: .useDoubleQuant) ?? true
            quantType = try c.decodeIfPresent(String.self, forKey: .quantType) ?? "nf4"
        }

        public func encode(to encoder: any Encoder) throws {
            try hyperparameters.encode(to: encoder)
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(useDoubleQuant, forKey: .useDoubleQuant)
            try c.encode(quantType, forKey: .quantType)
        }

        /// The 4-bit format named by `quantType`, or nil when it is not "nf4"/"fp4".
        public var format: QuantFormat? {
            switch quantType {
            case "nf4": .nf4
            case "fp4": .fp4
            default: nil
            }
        }

        public func validate(for config: ModelConfig) throws {
            try hyperparameters.validate(method: Self.methodName, for: config)
            guard format != nil else {
                throw PEFTMethodError.invalidConfiguration(
                    method: Self.methodName, key: "bnb_4bit_quant_type", reason: "must be \"nf4\" or \"fp4\", got \"\(quantType)\"")
            }
        }

        public func makeMethod() -> any PEFTMethod { QLoRA(self) }
    }

    public static let methodName = Configuration.methodName
    public let configuration: Configuration
    public private(set) var parameters = MethodParameters()
    public var isTraining = true { didSet { path?.isTraining = isTraining } }
    public var label: String {
        "qlora " + configuration.hyperparameters.labelFragment + " \(configuration.quantType)" + (configuration.useDoubleQuant ? " dq" : "")
    }
    private var path: LowRankPath?
    /// The packed base matrices, by `LinearSite` key (layer·6 + kind ordinal).
    private var quantized: [QuantizedTensor] = []
    /// Position in `quantized` and `errors` of each site (`LinearSite.index`), −1 for none.
    private var slotOfSite: [Int] = []
    /// ‖W0 − W0_q‖_F per site, same order.
    private var errors: [Float] = []
    /// One dequantization target, [max out·in] (see `effectiveWeight`).
    private var scratch = FloatArena(count: 0)

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }


    /// Quantizes every linear matrix, overwrites the Float32 copy with W0_q, attaches LoRA's path.
    public func attach(to model: TransformerModel, rng: inout SeededRNG) throws {
        try configuration.validate(for: model.config)
        let h = configuration.hyperparameters, format = configuration.format!
        quantized = []
        errors = []
        slotOfSite = Array(repeating: -1, count: LinearSite.tableSize(layers: model.config.layers))
        var largest = 0
        for site in LinearSite.all(model.config) {
            let w0 = model.parameters.tensor(named: site.weightName)
            let q = QuantizedTensor(quantizing: w0, format: format, blocksize: Self.blocksize, doubleQuant: configuration.useDoubleQuant)
            let wq = q.dequantize()
            try model.parameters.load(named: site.weightName, from: wq)
            slotOfSite[site.index] = quantized.count
            quantized.append(q)
            errors.append((w0 - wq).frobeniusNorm())
            largest = max(largest, w0.count)
        }
        scratch = FloatArena(count: largest)
        parameters = MethodParameters()
        let path = LowRankPath(
            sites: h.sites(model.config), config: model.config, hyperparameters: h,
            parameters: parameters, maxRows: model.activations.maxB * model.activations.maxT, rng: rng)
        parameters.seal()
        path.initialize(parameters: parameters, rng: rng)
        path.isTraining = isTraining
        self.path = path
        model.parameters.setRequiresGradForAll(false)
        model.linearHook = self
    }

    /// Removes the hook; the base keeps W0_q (and becomes trainable again, the model's default).
    public func detach(from model: TransformerModel) {
        if model.linearHook === self { model.linearHook = nil }
        model.parameters.setRequiresGradForAll(true)
    }

    // MARK: LinearSiteHook

    /// deq(Q(W0)) of `site`, decoded into the shared scratch (valid until the next call), plus
    /// s·B·A when the path is folded (no dropout in effect; see `LowRankPath`); nil while merged
    /// (the Float32 arena then holds W0_q + s·B·A).
    public func effectiveWeight(for site: LinearSite) -> UnsafePointer<Float>? {
        guard let path, !path.isMerged else { return nil }
        let q = quantized[slotOfSite[site.index]]
        q.dequantize(into: UnsafeMutableBufferPointer(start: scratch.pointer, count: q.count))
        if path.isFolded, let slot = path.slot(for: site) {
            path.foldedWeight(slot, weight: scratch.pointer, into: scratch.pointer, parameters: parameters)
        }
        return UnsafePointer(scratch.pointer)
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

    // MARK: Quantized base

    /// The packed form of a base matrix (nil before attach).
    public func quantizedWeight(for site: LinearSite) -> QuantizedTensor? {
        quantized.isEmpty ? nil : quantized[slotOfSite[site.index]]
    }

    /// ‖W0 − W0_q‖_F of a base matrix: what quantizing it cost (nil before attach).
    public func quantizationError(for site: LinearSite) -> Float? {
        errors.isEmpty ? nil : errors[slotOfSite[site.index]]
    }

    /// Stored bits per quantized parameter: 8·Σ bytes / Σ count (4.5 for NF4 with Float32
    /// absmax at blocksize 64; ≈ 4.127 with double quantization).
    public var bitsPerParameter: Double {
        let bytes = quantized.reduce(0) { $0 + $1.storageBytes }, count = quantized.reduce(0) { $0 + $1.count }
        return count == 0 ? 0 : Double(8 * bytes) / Double(count)
    }

    /// Packed bytes of the quantized matrices + 4 bytes per element of every other frozen view.
    public func frozenBytes(model: TransformerModel) -> Int {
        let p = model.parameters
        let quantizedNames = Set(LinearSite.all(model.config).map(\.weightName))
        let float = zip(p.views, p.requiresGrad).reduce(0) { total, vr in
            vr.1 || (!quantized.isEmpty && quantizedNames.contains(vr.0.name)) ? total : total + 4 * vr.0.count
        }
        return float + quantized.reduce(0) { $0 + $1.storageBytes }
    }

    // MARK: Weight space

    /// ΔW = s·B·A at an adapted site (relative to W0_q), nil elsewhere.
    public func delta(for site: LinearSite, model: TransformerModel) -> Tensor? {
        path?.delta(for: site, parameters: parameters)
    }

    public var canMerge: Bool { true }

    /// W ← W0_q + s·B·A in the Float32 arena (no re-quantization); forward then uses the arena.
    public func merge(into model: TransformerModel) throws {
        guard let path else { throw PEFTMethodError.notAttached(method: Self.methodName) }
        path.setMerged(true, model: model, parameters: parameters)
    }

    /// W ← W − s·B·A (W0_q to within one rounding); the quantized base is used again.
    public func unmerge(from model: TransformerModel) throws {
        guard let path else { throw PEFTMethodError.notAttached(method: Self.methodName) }
        path.setMerged(false, model: model, parameters: parameters)
    }

    /// Σ over adapted sites of r·(in + out), as LoRA: the quantized base adds no trainable parameter.
    public func expectedTrainableParameterCount(config: ModelConfig) -> Int {
        configuration.hyperparameters.lowRankParameterCount(config: config)
    }
}
