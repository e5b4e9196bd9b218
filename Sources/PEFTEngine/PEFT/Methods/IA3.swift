/// (IA)³, "Infused Adapter by Inhibiting and Amplifying Inner Activations" (Liu, Tam,
/// Muqeeth, Mohta, Huang, Bansal & Raffel 2022, "Few-Shot Parameter-Efficient Fine-Tuning is
/// Better and Cheaper than In-Context Learning"): learned vectors, initialised to ONES,
/// rescale activations elementwise; every base weight stays frozen.
///
///     k ← l_k ⊙ k,  v ← l_v ⊙ v                       (output scaling, l [C])
///     h ← l_ff ⊙ gelu(fc(x)),  then proj(h)            (input scaling of proj, l_ff [F])
///
/// peft's convention (followed here): `target_modules` lists the adapted linear layers and
/// `feedforward_modules` ⊆ `target_modules` the ones whose vector multiplies the layer's
/// INPUT features ([in]) instead of its output ([out]). The paper's l_ff ⊙ gelu(fc(x)) is
/// exactly "input scaling of the down projection", so the defaults are
/// `target_modules = [k, v, proj]`, `feedforward_modules = [proj]`, and the count is L·(2C + F);
/// on LLaMA peft's own defaults, `[k_proj, v_proj, down_proj]` with `[down_proj]` feed-forward,
/// L·(2·KV·HS + F).
///
/// peft's `init_ia3_weights` is always true here (vectors start at exactly 1, so a fresh
/// method is the identity bit for bit); every base parameter is frozen, vectors do not decay.
///
/// Implementation at the linear sites (`LinearSiteHook`):
/// - output scaling, y = l ⊙ (x·Wᵀ + b): forward caches the unscaled y per layer, then scales
///   y in place; backward accumulates `dl += Σ_rows dy ⊙ y_unscaled` and returns
///   `dy_base = l ⊙ dy` (no division by l anywhere);
/// - input scaling, y = (x ⊙ l)·Wᵀ + b = x·(W·diag(l))ᵀ + b: `effectiveWeight` serves
///   W_eff = W·diag(l), rebuilt in `prepareForward`, for the forward; backward forms
///   g = dy·W (one sgemm, the one the base would have spent on dx — the hook declares
///   `handlesInputGradient`), then dx += l ⊙ g and dl += Σ_rows x ⊙ g in one pass.
///
/// ΔW (folding): output scaling W' = diag(l)·W (and b' = l ⊙ b), input scaling W' = W·diag(l);
/// `delta` returns W' − W. `merge` saves the original weights and biases, folds, and removes
/// the hook; `unmerge` restores the saved tensors bit-exactly and reinstalls the hook.
public final class IA3: PEFTMethod, LinearSiteHook {
    public struct Configuration: PEFTMethodConfiguration, Equatable {
        public static let methodName = "ia3"
        public static let fieldNames = ["target_modules", "feedforward_modules"]

        /// Adapted linear layers (engine or peft names, "all-linear"); nil: the architecture's
        /// default (k, v and the MLP's output layer).
        public var targetModules: [String]?
        /// The subset of `targetModules` scaled on their input features; nil: the MLP's output
        /// layer when targeted (peft's defaults), else none.
        public var feedforwardModules: [String]?

        public init(targetModules: [String]? = nil, feedforwardModules: [String]? = nil) {
            self.targetModules = targetModules
            self.feedforwardModules = feedforwardModules
        }

        enum CodingKeys: String, CodingKey {
            case targetModules = "target_modules"
            case feedforwardModules = "feedforward_modules"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            targetModules = try c.decodeIfPresent([String].self, forKey: .targetModules)
            feedforwardModules = try c.decodeIfPresent([String].self, forKey: .feedforwardModules)
        }

        public func validate(for config: ModelConfig) throws {
            func fail(_ key: CodingKeys, _ reason: String) -> PEFTMethodError {
                .invalidConfiguration(method: Self.methodName, key: key.rawValue, reason: reason)
            }
            let known = LinearSite.Kind.moduleNames(of: config.architecture)
            if let targetModules {
                guard !targetModules.isEmpty else { throw fail(.targetModules, "is empty; give at least one of \(known)") }
                guard Set(targetModules).count == targetModules.count else {
                    throw fail(.targetModules, "lists a module twice: \(targetModules)")
                }
            }
            let targets: [LinearSite.Kind], feedforward: [LinearSite.Kind]
            do {
                targets = try LinearSite.Kind.resolve(targetModules ?? [], architecture: config.architecture)
            } catch { throw fail(.targetModules, error.description) }
            do {
                feedforward = try LinearSite.Kind.resolve(feedforwardModules ?? [], architecture: config.architecture)
            } catch { throw fail(.feedforwardModules, error.description) }
            let chosen = targetModules == nil ? Self.defaultTargets(config.architecture) : targets
            for kind in feedforward where !chosen.contains(kind) {
                throw fail(.feedforwardModules, "contains \"\(kind.peftName ?? kind.rawValue)\", which is not among the target modules")
            }
        }

        public func makeMethod() -> any PEFTMethod { IA3(self) }

        /// k, v and the MLP's output layer (peft's defaults for both blocks).
        static func defaultTargets(_ architecture: ModelConfig.Architecture) -> [LinearSite.Kind] {
            architecture == .llama ? [.k, .v, .down] : [.k, .v, .proj]
        }

        /// Adapted kinds on `architecture` in block order, each with whether it scales its input.
        func targets(_ architecture: ModelConfig.Architecture) -> [(kind: LinearSite.Kind, scalesInput: Bool)] {
            let kinds = targetModules.map { (try? LinearSite.Kind.resolve($0, architecture: architecture)) ?? [] }
                ?? Self.defaultTargets(architecture)
            let feedforward = feedforwardModules.map { Set((try? LinearSite.Kind.resolve($0, architecture: architecture)) ?? []) }
                ?? [Self.defaultTargets(architecture)[2]]
            return kinds.map { ($0, feedforward.contains($0)) }
        }
    }

    public static let methodName = Configuration.methodName
    public let configuration: Configuration
    public private(set) var parameters = MethodParameters()
    public var isTraining = true
    public var label: String {
        var label = "ia3"
        if let t = configuration.targetModules { label += " target_modules=\(t.joined(separator: ","))" }
        if let f = configuration.feedforwardModules { label += " feedforward_modules=\(f.joined(separator: ","))" }
        return label
    }

    /// One adapted site of one layer.
    private struct Slot {
        let site: LinearSite
        let scalesInput: Bool
        /// Vector length: `in` when it scales the input, else `out`.
        let length: Int
        /// (in, out) features of the site.
        let input: Int, output: Int
        /// The stored base weight [out, in] in the model's arena (stable for the model's lifetime).
        let weight: UnsafeMutablePointer<Float>
        /// View index of "<site>.ia3_l" in `parameters`.
        let view: Int
        /// Output scaling: unscaled y of the last forward, [maxRows, out].
        /// Input scaling: W_eff = W·diag(l), [out, in].
        let cache: FloatArena
    }

    private var slots: [Slot] = []
    /// Slot of (layer, kind), -1 when the site is not adapted: index `layer·6 + kind`.
    private var slotIndex: [Int] = []
    /// Output scaling: dy_base = l ⊙ dy, [maxRows, out]. Input scaling: g = dy·W, [maxRows, in].
    private var scratch = FloatArena(count: 0)
    private var maxRows = 0
    /// Weights and biases before `merge`, restored by `unmerge`; nil when not merged.
    private var premerge: [(weight: String, bias: String?, w: Tensor, b: Tensor?)]?

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public func attach(to model: TransformerModel, rng: inout SeededRNG) throws {
        try configuration.validate(for: model.config)
        let config = model.config
        maxRows = model.activations.maxB * model.activations.maxT
        parameters = MethodParameters()
        var declared: [(LinearSite, Bool, Int, Int)] = []
        for l in 0..<config.layers {
            for (kind, scalesInput) in configuration.targets(config.architecture) {
                let site = LinearSite(layer: l, kind: kind)
                let (input, output) = site.features(config)
                let length = scalesInput ? input : output
                declared.append((site, scalesInput, length, parameters.add(site.name + ".ia3_l", shape: [length], decays: false)))
            }
        }
        parameters.seal()
        parameters.values.pointer.update(repeating: 1, count: parameters.count)
        slotIndex = Array(repeating: -1, count: LinearSite.tableSize(layers: config.layers))
        var scratchCount = 0
        slots = declared.enumerated().map { i, d in
            let (site, scalesInput, length, view) = d
            let (input, output) = site.features(config)
            slotIndex[site.index] = i
            scratchCount = max(scratchCount, maxRows * (scalesInput ? input : output))
            let weight = model.parameters.values.at(model.parameters.view(named: site.weightName).offset)
            return Slot(site: site, scalesInput: scalesInput, length: length, input: input, output: output,
                        weight: weight, view: view, cache: FloatArena(count: scalesInput ? output * input : maxRows * output))
        }
        scratch = FloatArena(count: scratchCount)
        model.parameters.setRequiresGradForAll(false)
        premerge = nil
        prepareForward(model: model)
        model.linearHook = self
    }

    public func detach(from model: TransformerModel) {
        if model.linearHook === self { model.linearHook = nil }
        model.parameters.setRequiresGradForAll(true)
    }

    @inline(__always) private func slot(_ site: LinearSite) -> Slot? {
        let i = slotIndex[site.index]
        return i < 0 ? nil : slots[i]
    }

    /// Rebuilds W_eff = W·diag(l) of every input-scaled site: W_eff[o, i] = W[o, i]·l[i].
    public func prepareForward(model: TransformerModel) {
        guard premerge == nil else { return }
        for s in slots where s.scalesInput {
            let input = s.input, output = s.output
            let w = s.weight, weff = s.cache.pointer, l = parameters.value(s.view)
            for o in 0..<output {
                for i in 0..<input { weff[o * input + i] = w[o * input + i] * l[i] }
            }
        }
    }

    // MARK: LinearSiteHook

    public func effectiveWeight(for site: LinearSite) -> UnsafePointer<Float>? {
        guard let s = slot(site), s.scalesInput else { return nil }
        return UnsafePointer(s.cache.pointer)
    }

    /// Output scaling: cache y, then y ← l ⊙ y. (Input scaling already happened in W_eff.)
    public func forward(site: LinearSite, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int) {
        guard let s = slot(site), !s.scalesInput else { return }
        precondition(rows <= maxRows, "IA3: \(rows) rows exceed the capacity \(maxRows) sized at attach")
        let out = s.length, l = UnsafePointer(parameters.value(s.view)), cache = s.cache.pointer
        for m in 0..<rows {
            ScaledRows.cacheAndScale(n: out, y: y + m * out, cache: cache + m * out, scale: l, shift: nil)
        }
    }

    /// Input-scaled sites compute their own input gradient (see `backward`).
    public func handlesInputGradient(for site: LinearSite) -> Bool {
        slot(site)?.scalesInput ?? false
    }

    /// Output-scaled sites leave dx to the base; input-scaled ones add l ⊙ g themselves.
    public func accumulatesInputGradient(for site: LinearSite) -> Bool {
        slot(site)?.scalesInput ?? false
    }

    /// Output scaling: dl += Σ_rows dy ⊙ y_unscaled, returns dy_base = l ⊙ dy.
    /// Input scaling: g = dy·W [rows, in] (one sgemm with the stored W), then
    /// dx += l ⊙ g (when dx is given) and dl += Σ_rows x ⊙ g; dy_base is dy itself. This is
    /// the same GEMM the base would spend on dx = dy·W_eff, so dl costs only one elementwise
    /// pass.
    public func backward(
        site: LinearSite, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int
    ) -> UnsafePointer<Float>? {
        guard let s = slot(site) else { return nil }
        let l = parameters.value(s.view), dl = parameters.gradient(s.view)
        let g = scratch.pointer
        if s.scalesInput {
            let input = s.input, output = s.output
            BLAS.sgemm(transA: false, transB: false, m: rows, n: input, k: output, alpha: 1, a: dy, lda: output,
                       b: s.weight, ldb: input, beta: 0, c: g, ldc: input)
            guard let dx else {
                // Nothing needs dx here: only dl += Σ_rows x ⊙ g.
                for m in 0..<rows { ScaledRows.accumulateProducts(n: input, a: x + m * input, b: g + m * input, acc: dl) }
                return nil
            }
            for m in 0..<rows {
                ScaledRows.fusedRow(n: input, b: g + m * input, a: x + m * input, acc: dl,
                              scale: l, out: dx + m * input, accumulateOut: true)
            }
            return nil
        }
        let out = s.length, cache = s.cache.pointer
        for m in 0..<rows {
            ScaledRows.fusedRow(n: out, b: dy + m * out, a: cache + m * out, acc: dl,
                          scale: l, out: g + m * out, accumulateOut: false)
        }
        return UnsafePointer(g)
    }

    // MARK: Weight space

    /// ΔW = W' − W with W' = diag(l)·W (output scaling) or W·diag(l) (input scaling), from the
    /// current vectors and the unmerged weights; nil at sites IA3 does not adapt.
    public func delta(for site: LinearSite, model: TransformerModel) -> Tensor? {
        guard let s = slot(site) else { return nil }
        let (input, output) = site.features(model.config)
        let w = premerge?.first { $0.weight == site.weightName }?.w ?? model.parameters.tensor(named: site.weightName)
        let l = parameters.tensor(named: site.name + ".ia3_l").storage
        var d = Tensor(shape: [output, input])
        for o in 0..<output {
            for i in 0..<input { d.storage[o * input + i] = w.storage[o * input + i] * ((s.scalesInput ? l[i] : l[o]) - 1) }
        }
        return d
    }

    public var canMerge: Bool { true }

    /// Folds every vector into its weight (and, for output scaling, its bias), saving the
    /// originals; the model then runs without the hook.
    public func merge(into model: TransformerModel) throws {
        guard premerge == nil else { throw PEFTMethodError.cannotMerge(method: Self.methodName, reason: "it is already merged") }
        var saved: [(weight: String, bias: String?, w: Tensor, b: Tensor?)] = []
        for s in slots {
            let (input, output) = s.site.features(model.config)
            let biasName = model.parameters.contains(s.site.biasName) ? s.site.biasName : nil
            let w = model.parameters.tensor(named: s.site.weightName), b = biasName.map(model.parameters.tensor(named:))
            saved.append((s.site.weightName, biasName, w, b))
            let l = parameters.tensor(named: s.site.name + ".ia3_l").storage
            var wf = w, bf = b
            for o in 0..<output {
                for i in 0..<input { wf.storage[o * input + i] *= s.scalesInput ? l[i] : l[o] }
                if !s.scalesInput { bf?.storage[o] *= l[o] }
            }
            try model.parameters.load(named: s.site.weightName, from: wf)
            if let biasName, let bf { try model.parameters.load(named: biasName, from: bf) }
        }
        premerge = saved
        if model.linearHook === self { model.linearHook = nil }
    }

    /// Restores the saved weights and biases and reinstalls the hook.
    public func unmerge(from model: TransformerModel) throws {
        guard let saved = premerge else { throw PEFTMethodError.cannotMerge(method: Self.methodName, reason: "it is not merged") }
        for entry in saved {
            try model.parameters.load(named: entry.weight, from: entry.w)
            if let bias = entry.bias, let b = entry.b { try model.parameters.load(named: bias, from: b) }
        }
        premerge = nil
        prepareForward(model: model)
        model.linearHook = self
    }

    /// One vector per adapted site and layer: `in` entries for feed-forward (input-scaled)
    /// modules, `out` otherwise. Defaults: L·(C + C + F) = L·(2C + F) on GPT-2, L·(2·KVC + F)
    /// on LLaMA.
    public func expectedTrainableParameterCount(config: ModelConfig) -> Int {
        let perLayer = configuration.targets(config.architecture).reduce(0) { sum, t in
            let (input, output) = LinearSite(layer: 0, kind: t.kind).features(config)
            return sum + (t.scalesInput ? input : output)
        }
        return config.layers * perLayer
    }
}
