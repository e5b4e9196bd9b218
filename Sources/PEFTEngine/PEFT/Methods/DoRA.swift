/// DoRA (Liu, Wang, Yin, Molchanov, Wang, Cheng & Chen 2024, "DoRA: Weight-Decomposed
/// Low-Rank Adaptation"): the adapted weight is split into a magnitude and a direction,
///
///     V = W0 + s·B·A,   c_o = ‖V_o,:‖₂ (one norm per OUTPUT row of the [out, in] weight),
///     W' = diag(m / c)·V,   y = x·W'ᵀ + b,   ΔW = W' − W0,
///
/// with m [out] initialised to the row norms of W0 (B = 0), so a fresh DoRA is the identity.
/// peft computes the same norm: `torch.linalg.norm(W + s·B·A, dim=1)` on the [out, in] weight
/// (its comment says "column-wise", meaning the columns of the paper's [in, out] matrix).
///
/// Gradient, as peft: §4.3 of the paper suggests treating ‖V‖_c as a constant; peft does
/// (`weight_norm = weight_norm.detach()` in `DoraLinearLayer.forward`), and so does this file.
/// With G = dW' = dyᵀ·x and k = m / c:
///
///     dm_o = Σ_i G_oi·V_oi / c_o,   dV = diag(k)·G,   dB = s·dV·Aᵀ,   dA = s·Bᵀ·dV
///
/// — the exact gradient minus the term through c. It is therefore checked against finite
/// differences of the loss with c held at its current value (`holdsNormsConstant`).
///
/// Execution, without ever forming G (an [out, in] product over all rows per site): the base
/// linear multiplies by V (`effectiveWeight`, with a zero bias), so its output is z = x·Vᵀ;
/// `forward` caches z and writes y = z ⊙ k + b. Then, per site, with dy_base = dy ⊙ k:
///
///     dm_o = Σ_rows dy_o·z_o / c_o,   dV = dy_baseᵀ·x,   dx = dy_base·V
///
/// so dB and dA are LoRA's folded backward run on dy_base (`LowRankPath`), and the base forms
/// dx from the returned dy_base — the same products as LoRA plus two passes over the rows.
/// `prepareForward` computes V, c and k per site. peft applies `lora_dropout` to the DoRA
/// input only when dropout is on, which has no single-weight form: `lora_dropout` must be 0
/// here. Trainable parameters: Σ over adapted sites of r·(in + out) + out.
public final class DoRA: PEFTMethod, LinearSiteHook {
    /// peft's `LoraConfig` fields with `use_dora=True` (see `LoRAHyperparameters`).
    public struct Configuration: PEFTMethodConfiguration, Equatable {
        public static let methodName = "dora"
        public static let fieldNames = LoRAHyperparameters.fieldNames
        public var hyperparameters: LoRAHyperparameters

        public init(_ hyperparameters: LoRAHyperparameters = LoRAHyperparameters()) {
            self.hyperparameters = hyperparameters
        }

        public init(from decoder: any Decoder) throws { hyperparameters = try LoRAHyperparameters(from: decoder) }
        public func encode(to encoder: any Encoder) throws { try hyperparameters.encode(to: encoder) }

        public func validate(for config: ModelConfig) throws {
            try hyperparameters.validate(method: Self.methodName, for: config)
            guard hyperparameters.loraDropout == 0 else {
                throw PEFTMethodError.invalidConfiguration(
                    method: Self.methodName, key: "lora_dropout",
                    reason: "must be 0 for DoRA here (peft applies both DoRA terms to the dropped input, "
                        + "which has no form on one weight V), got \(hyperparameters.loraDropout)")
            }
        }

        public func makeMethod() -> any PEFTMethod { DoRA(self) }
    }

    /// Per-site state: the magnitude view, the derived tensors of the last `prepareForward`
    /// and the forward's cached z.
    private struct Site {
        let slot: LowRankPath.Slot
        /// View index of lora_magnitude_vector [out].
        let magnitude: Int
        /// V = W0 + s·B·A [out, in], c [out], k = m / c [out].
        let direction: FloatArena, norms: FloatArena, scale: FloatArena
        /// z = x·Vᵀ of the last forward, [rows, out].
        let output: FloatArena
        /// View index of the site's stored bias in the model's parameters (−1: none, LLaMA).
        let bias: Int
    }

    public static let methodName = Configuration.methodName
    public let configuration: Configuration
    public private(set) var parameters = MethodParameters()
    public var isTraining = true
    public var label: String { "dora " + configuration.hyperparameters.labelFragment }
    private var path: LowRankPath?
    private var sites: [LinearSite: Site] = [:]
    /// The model's parameters (the stored biases b added back in `forward`).
    private var base: ParameterStore?
    /// Zeros [max out]: the bias the base linear adds to z.
    private var zeroBias = FloatArena(count: 0)
    /// dy_base = dy ⊙ k [maxRows·max out] and Σ_rows dy ⊙ z [max out] of one site (shared).
    private var scaledGradient = FloatArena(count: 0), magnitudeSums = FloatArena(count: 0)
    private var maxRows = 0
    /// W0 of every adapted site while merged.
    private var savedBase: [LinearSite: [Float]] = [:]
    private var merged = false
    /// Smallest norm used in a division (a zero row of V would otherwise give 0/0).
    static let normFloor: Float = 1e-30

    /// Finite-difference seam: while true, `prepareForward` keeps c from the first call after
    /// it was set (the function whose gradient peft's detached norm is).
    var holdsNormsConstant = false { didSet { normsAreHeld = false } }
    private var normsAreHeld = false

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public func attach(to model: TransformerModel, rng: inout SeededRNG) throws {
        try configuration.validate(for: model.config)
        let h = configuration.hyperparameters
        let chosen = h.sites(model.config)
        parameters = MethodParameters()
        let path = LowRankPath(sites: chosen, config: model.config, hyperparameters: h, parameters: parameters,
                               maxRows: model.activations.maxB * model.activations.maxT, rng: rng)
        let magnitudes = chosen.map { parameters.add($0.name + ".lora_magnitude_vector", shape: [$0.features(model.config).output], decays: false) }
        parameters.seal()
        path.initialize(parameters: parameters, rng: rng)
        sites = [:]
        maxRows = model.activations.maxB * model.activations.maxT
        var widest = 0
        for (slot, m) in zip(path.slots, magnitudes) {
            let n = slot.output * slot.input
            sites[slot.site] = Site(slot: slot, magnitude: m, direction: FloatArena(count: n),
                                    norms: FloatArena(count: slot.output), scale: FloatArena(count: slot.output),
                                    output: FloatArena(count: maxRows * slot.output),
                                    bias: model.parameters.contains(slot.site.biasName) ? model.parameters.index(of: slot.site.biasName) : -1)
            widest = max(widest, slot.output)
        }
        base = model.parameters
        zeroBias = FloatArena(count: widest)
        scaledGradient = FloatArena(count: maxRows * widest)
        magnitudeSums = FloatArena(count: widest)
        self.path = path
        merged = false
        // m = ‖W0‖ per row (B = 0, so V = W0), then the derived tensors.
        model.parameters.setRequiresGradForAll(false)
        for site in sites.values {
            computeDirection(site, model: model)
            computeNorms(site)
            parameters.value(site.magnitude).update(from: site.norms.pointer, count: site.slot.output)
            computeScale(site)
        }
        model.linearHook = self
    }

    public func detach(from model: TransformerModel) {
        if model.linearHook === self { model.linearHook = nil }
        model.parameters.setRequiresGradForAll(true)
    }

    // MARK: Derived tensors (forward side)

    /// V = W0 + s·B·A.
    private func computeDirection(_ site: Site, model: TransformerModel) {
        let view = model.parameters.view(named: site.slot.site.weightName)
        site.direction.pointer.update(from: model.parameters.values.at(view.offset), count: view.count)
        path!.addProduct(site.slot, alpha: 1, beta: 1, into: site.direction.pointer, parameters: parameters)
    }

    /// c_o = ‖V_o,:‖₂, accumulated in Double.
    private func computeNorms(_ site: Site) {
        let v = site.direction.pointer, c = site.norms.pointer, IC = site.slot.input
        for o in 0..<site.slot.output {
            var sum: Double = 0
            for i in 0..<IC { let e = Double(v[o * IC + i]); sum += e * e }
            c[o] = Float(sum.squareRoot())
        }
    }

    /// k = m / c (W' = diag(k)·V).
    private func computeScale(_ site: Site) {
        let k = site.scale.pointer, c = site.norms.pointer, m = parameters.value(site.magnitude)
        for o in 0..<site.slot.output { k[o] = m[o] / max(c[o], Self.normFloor) }
    }

    /// Recomputes V, c (unless held) and k from the current A, B, m.
    public func prepareForward(model: TransformerModel) {
        guard !merged else { return }
        let recomputeNorms = !holdsNormsConstant || !normsAreHeld
        for site in sites.values {
            computeDirection(site, model: model)
            if recomputeNorms { computeNorms(site) }
            computeScale(site)
        }
        if holdsNormsConstant { normsAreHeld = true }
    }

    // MARK: LinearSiteHook (V substituted, outputs scaled by k)

    /// V = W0 + s·B·A: the base linear computes z = x·Vᵀ.
    public func effectiveWeight(for site: LinearSite) -> UnsafePointer<Float>? {
        guard !merged, let s = sites[site] else { return nil }
        return UnsafePointer(s.direction.pointer)
    }

    /// Zero: `forward` adds the stored bias after scaling.
    public func effectiveBias(for site: LinearSite) -> UnsafePointer<Float>? {
        guard !merged, sites[site] != nil else { return nil }
        return UnsafePointer(zeroBias.pointer)
    }

    /// Caches z = x·Vᵀ, then y = z ⊙ k + b (= x·W'ᵀ + b).
    public func forward(site: LinearSite, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int) {
        guard !merged, let s = sites[site], let base else { return }
        precondition(rows <= maxRows, "DoRA: \(rows) rows exceed the capacity \(maxRows) sized at attach")
        let OC = s.slot.output, z = s.output.pointer, k = UnsafePointer(s.scale.pointer)
        let b = UnsafePointer(s.bias >= 0 ? base.values.at(base.views[s.bias].offset) : zeroBias.pointer)
        for m in 0..<rows {
            ScaledRows.cacheAndScale(n: OC, y: y + m * OC, cache: z + m * OC, scale: k, shift: b)
        }
    }

    /// DoRA never writes dx: the base backward forms dx = dy_base·V.
    public func accumulatesInputGradient(for site: LinearSite) -> Bool { false }

    /// dy_base = dy ⊙ k and dm += Σ_rows dy ⊙ z / c in one pass, then dA, dB by LoRA's folded
    /// backward on dy_base (see the type); returns dy_base, from which the base forms dx.
    public func backward(
        site: LinearSite, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows M: Int
    ) -> UnsafePointer<Float>? {
        guard !merged, let s = sites[site], let path else { return nil }
        let OC = s.slot.output, z = s.output.pointer, k = s.scale.pointer, c = s.norms.pointer
        let dyBase = scaledGradient.pointer, sums = magnitudeSums.pointer
        sums.update(repeating: 0, count: OC)
        for m in 0..<M {
            ScaledRows.fusedRow(n: OC, b: dy + m * OC, a: z + m * OC, acc: sums, scale: k,
                                out: dyBase + m * OC, accumulateOut: false)
        }
        let dm = parameters.gradient(s.magnitude)
        for o in 0..<OC { dm[o] += sums[o] / max(c[o], Self.normFloor) }
        path.foldedBackward(site: site, x: x, dy: dyBase, rows: M, parameters: parameters)
        // A stored bias made trainable after attach is added after the scaling: its gradient is
        // Σ dy, of which the base will add Σ dy_base = Σ dy ⊙ k; add the rest, Σ dy ⊙ (1 − k).
        if let base, s.bias >= 0, base.requiresGrad[s.bias] {
            let db = base.gradients.at(base.views[s.bias].offset)
            for m in 0..<M {
                for o in 0..<OC { db[o] += dy[m * OC + o] * (1 - k[o]) }
            }
        }
        return UnsafePointer(dyBase)
    }

    // MARK: Weight space

    /// W' [out, in] from the current parameters (not the cached scratch), norms in Double.
    private func adaptedWeight(_ site: Site, model: TransformerModel) -> Tensor {
        let view = model.parameters.view(named: site.slot.site.weightName)
        var w = merged ? Tensor(shape: view.shape, storage: savedBase[site.slot.site]!) : model.parameters.tensor(named: view.name)
        w.storage.withUnsafeMutableBufferPointer { path!.addProduct(site.slot, alpha: 1, beta: 1, into: $0.baseAddress!, parameters: parameters) }
        let m = parameters.value(site.magnitude), IC = site.slot.input
        w.storage.withUnsafeMutableBufferPointer { v in
            for o in 0..<site.slot.output {
                var sum: Double = 0
                for i in 0..<IC { sum += Double(v[o * IC + i]) * Double(v[o * IC + i]) }
                let k = m[o] / max(Float(sum.squareRoot()), Self.normFloor)
                for i in 0..<IC { v[o * IC + i] *= k }
            }
        }
        return w
    }

    /// ΔW = W' − W0 at an adapted site, nil elsewhere.
    public func delta(for site: LinearSite, model: TransformerModel) -> Tensor? {
        guard let s = sites[site] else { return nil }
        let w0 = merged ? Tensor(shape: [s.slot.output, s.slot.input], storage: savedBase[site]!)
                        : model.parameters.tensor(named: site.weightName)
        return adaptedWeight(s, model: model) - w0
    }

    /// The magnitude vector m of an adapted site (tests, analysis).
    public func magnitude(for site: LinearSite) -> Tensor? {
        guard let s = sites[site] else { return nil }
        return parameters.tensor(named: parameters.views[s.magnitude].name)
    }

    public var canMerge: Bool { true }

    /// Saves W0 and writes W' into the base weights; the substitution stops.
    public func merge(into model: TransformerModel) throws {
        guard path != nil else { throw PEFTMethodError.notAttached(method: Self.methodName) }
        guard !merged else { return }
        for (site, s) in sites {
            let w = adaptedWeight(s, model: model)
            savedBase[site] = model.parameters.tensor(named: site.weightName).storage
            try model.parameters.load(named: site.weightName, from: w)
        }
        merged = true
    }

    /// Restores W0 exactly from the saved copy; the substitution resumes.
    public func unmerge(from model: TransformerModel) throws {
        guard path != nil else { throw PEFTMethodError.notAttached(method: Self.methodName) }
        guard merged else { return }
        for (site, s) in sites {
            try model.parameters.load(named: site.weightName, from: Tensor(shape: [s.slot.output, s.slot.input], storage: savedBase[site]!))
        }
        savedBase = [:]
        merged = false
        prepareForward(model: model)
    }

    /// Σ over adapted sites of r·(in + out) + out (A, B and the magnitude m).
    public func expectedTrainableParameterCount(config: ModelConfig) -> Int {
        let h = configuration.hyperparameters
        return h.sites(config).reduce(0) { total, site in
            let (i, o) = site.features(config)
            return total + h.r * (i + o) + o
        }
    }
}
