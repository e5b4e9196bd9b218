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
/// With G = dW' = dyᵀ·x (one sgemm per site in the hook's backward):
///
///     dm_o = Σ_i G_oi·V_oi / c_o,   dV = diag(m / c)·G,   dB = s·dV·Aᵀ,   dA = s·Bᵀ·dV
///
/// — the exact gradient minus the term through c. It is therefore checked against finite
/// differences of the loss with c held at its current value (`holdsNormsConstant`).
///
/// Implemented by weight substitution: `prepareForward` computes V, c and W' into per-site
/// scratch and `effectiveWeight` hands W' to the base linear. peft applies `lora_dropout` to
/// the DoRA input only when dropout is on, which has no single-weight form: `lora_dropout`
/// must be 0 here. Trainable parameters: Σ over adapted sites of r·(in + out) + out.
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
                    reason: "must be 0 for DoRA here (weight substitution has no form for a dropped input), got \(hyperparameters.loraDropout)")
            }
        }

        public func makeMethod() -> any PEFTMethod { DoRA(self) }
    }

    /// Per-site state: the magnitude view and the derived tensors of the last `prepareForward`.
    private struct Site {
        let slot: LowRankPath.Slot
        /// View index of lora_magnitude_vector [out].
        let magnitude: Int
        /// V = W0 + s·B·A [out, in], W' = diag(m/c)·V [out, in], c [out].
        let direction: FloatArena, weight: FloatArena, norms: FloatArena
    }

    public static let methodName = Configuration.methodName
    public let configuration: Configuration
    public private(set) var parameters = MethodParameters()
    public var isTraining = true
    public var label: String { "dora " + configuration.hyperparameters.labelFragment }
    private var path: LowRankPath?
    private var sites: [LinearSite: Site] = [:]
    /// dW' of one site, [maxOut·maxIn] (shared).
    private var weightGradient = FloatArena(count: 0)
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
        let chosen = h.sites(layers: model.config.layers)
        parameters = MethodParameters()
        let path = LowRankPath(sites: chosen, config: model.config, hyperparameters: h, parameters: parameters,
                               maxRows: model.activations.maxB * model.activations.maxT, rng: rng)
        let magnitudes = chosen.map { parameters.add($0.name + ".lora_magnitude_vector", shape: [$0.features(model.config).output], decays: false) }
        parameters.seal()
        path.initialize(parameters: parameters, rng: rng)
        sites = [:]
        var largest = 0
        for (slot, m) in zip(path.slots, magnitudes) {
            let n = slot.output * slot.input
            sites[slot.site] = Site(slot: slot, magnitude: m, direction: FloatArena(count: n),
                                    weight: FloatArena(count: n), norms: FloatArena(count: slot.output))
            largest = max(largest, n)
        }
        weightGradient = FloatArena(count: largest)
        self.path = path
        merged = false
        // m = ‖W0‖ per row (B = 0, so V = W0), then the derived tensors.
        model.parameters.setRequiresGradForAll(false)
        for site in sites.values {
            computeDirection(site, model: model)
            computeNorms(site)
            parameters.value(site.magnitude).update(from: site.norms.pointer, count: site.slot.output)
            computeWeight(site)
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

    /// W' = diag(m / c)·V.
    private func computeWeight(_ site: Site) {
        let v = site.direction.pointer, w = site.weight.pointer, c = site.norms.pointer
        let m = parameters.value(site.magnitude), IC = site.slot.input
        for o in 0..<site.slot.output {
            let k = m[o] / max(c[o], Self.normFloor)
            for i in 0..<IC { w[o * IC + i] = k * v[o * IC + i] }
        }
    }

    /// Recomputes V, c (unless held) and W' from the current A, B, m.
    public func prepareForward(model: TransformerModel) {
        guard !merged else { return }
        let recomputeNorms = !holdsNormsConstant || !normsAreHeld
        for site in sites.values {
            computeDirection(site, model: model)
            if recomputeNorms { computeNorms(site) }
            computeWeight(site)
        }
        if holdsNormsConstant { normsAreHeld = true }
    }

    // MARK: LinearSiteHook (weight substitution)

    public func effectiveWeight(for site: LinearSite) -> UnsafePointer<Float>? {
        guard !merged, let s = sites[site] else { return nil }
        return UnsafePointer(s.weight.pointer)
    }

    /// DoRA never writes dx: the base backward forms dx = dy·W'.
    public func accumulatesInputGradient(for site: LinearSite) -> Bool { false }

    /// G = dyᵀ·x, then dm, dB, dA through W' = diag(m/c)·V with c detached (see the type).
    /// The base backward then computes dx += dy·W' (where dx is wanted); the base output's
    /// gradient is dy (nil).
    public func backward(
        site: LinearSite, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows M: Int
    ) -> UnsafePointer<Float>? {
        guard !merged, let s = sites[site], let path else { return nil }
        let IC = s.slot.input, OC = s.slot.output, r = path.rank, g = weightGradient.pointer
        BLAS.sgemm(transA: true, transB: false, m: OC, n: IC, k: M, alpha: 1, a: dy, lda: OC,
                   b: x, ldb: IC, beta: 0, c: g, ldc: IC)
        let v = s.direction.pointer, c = s.norms.pointer
        let m = parameters.value(s.magnitude), dm = parameters.gradient(s.magnitude)
        for o in 0..<OC {
            let invC = 1 / max(c[o], Self.normFloor)
            var dot: Float = 0
            for i in 0..<IC { dot += g[o * IC + i] * v[o * IC + i] }
            dm[o] += dot * invC
            let k = m[o] * invC
            for i in 0..<IC { g[o * IC + i] *= k }
        }
        // dB += s·dV·Aᵀ [out, r];  dA += s·Bᵀ·dV [r, in]
        BLAS.sgemm(transA: false, transB: true, m: OC, n: r, k: IC, alpha: path.scaling, a: g, lda: IC,
                   b: parameters.value(s.slot.a), ldb: IC, beta: 1, c: parameters.gradient(s.slot.b), ldc: r)
        BLAS.sgemm(transA: true, transB: false, m: r, n: IC, k: OC, alpha: path.scaling, a: parameters.value(s.slot.b), lda: r,
                   b: g, ldb: IC, beta: 1, c: parameters.gradient(s.slot.a), ldc: IC)
        return nil
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
        return h.sites(layers: config.layers).reduce(0) { total, site in
            let (i, o) = site.features(config)
            return total + h.r * (i + o) + o
        }
    }
}
