/// Bottleneck adapters (Houlsby, Giurgiu, Jastrzębski, Morrone, de Laroussilhe, Gesmundo,
/// Attariyan & Gelly 2019, "Parameter-Efficient Transfer Learning for NLP"): after the
/// attention output projection and after the MLP output projection of every block, before
/// the residual add, a small residual MLP transforms the sublayer output h [M, C]:
///
///     h ← h + W_up·GELU(W_down·h + b_down) + b_up,   W_down [m, C], W_up [C, m]
///
/// with bottleneck m = C / `reduction_factor` (the adapter-transformers library's name;
/// default 16), or m = `adapter_size` when that is given (it then takes precedence over
/// `reduction_factor`). W_down is Kaiming-uniform (PyTorch `nn.Linear` default, bound
/// 1/√C), b_down, W_up and b_up are ZERO, so a fresh adapter is the identity. The base
/// model is frozen. GELU is the engine's tanh approximation (`GELU`), as in the MLP.
///
/// Implementation at the o and proj linear sites (`LinearSiteHook`): forward caches the
/// base output h, the bottleneck pre-activation z, its GELU gate and activation a per layer,
/// then adds the adapter path into y. Backward, with dy the gradient of the site's final
/// output: dW_up += dyᵀ·a, db_up += Σ dy, dz = gelu'(z) ⊙ (dy·W_up), dW_down += dzᵀ·h,
/// db_down += Σ dz, and it returns dy_base = dy + dz·W_down (the adapter's Jacobian
/// transposed applied to dy, plus the skip connection).
///
/// No weight-space form: the adapter is a non-linear function of h, so `delta` returns nil
/// and `canMerge` is false.
public final class HoulsbyAdapter: PEFTMethod, LinearSiteHook {
    public struct Configuration: PEFTMethodConfiguration, Equatable {
        public static let methodName = "adapter"
        public static let fieldNames = ["reduction_factor", "adapter_size", "target_modules"]

        /// m = C / reduction_factor; must divide C.
        public var reductionFactor: Int
        /// Bottleneck size m given directly (≥ 1); overrides `reductionFactor` when set.
        public var adapterSize: Int?
        /// Sites whose output is adapted, among the two that feed the residual stream: "o" and
        /// "proj" (GPT-2) or "o"/"o_proj" and "down"/"down_proj" (LLaMA). nil: both.
        public var targetModules: [String]?

        public init(reductionFactor: Int = 16, adapterSize: Int? = nil, targetModules: [String]? = nil) {
            self.reductionFactor = reductionFactor
            self.adapterSize = adapterSize
            self.targetModules = targetModules
        }

        enum CodingKeys: String, CodingKey {
            case reductionFactor = "reduction_factor"
            case adapterSize = "adapter_size"
            case targetModules = "target_modules"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let defaults = Configuration()
            reductionFactor = try c.decodeIfPresent(Int.self, forKey: .reductionFactor) ?? defaults.reductionFactor
            adapterSize = try c.decodeIfPresent(Int.self, forKey: .adapterSize)
            targetModules = try c.decodeIfPresent([String].self, forKey: .targetModules)
        }

        public func validate(for config: ModelConfig) throws {
            func fail(_ key: CodingKeys, _ reason: String) -> PEFTMethodError {
                .invalidConfiguration(method: Self.methodName, key: key.rawValue, reason: reason)
            }
            let C = config.dModel
            if let adapterSize {
                guard adapterSize >= 1 else { throw fail(.adapterSize, "is \(adapterSize); it must be ≥ 1") }
            } else {
                guard reductionFactor >= 1 else { throw fail(.reductionFactor, "is \(reductionFactor); it must be ≥ 1") }
                guard reductionFactor <= C else {
                    throw fail(.reductionFactor, "is \(reductionFactor), which gives a bottleneck C / \(reductionFactor) < 1 for d_model \(C)")
                }
                guard C % reductionFactor == 0 else {
                    throw fail(.reductionFactor, "is \(reductionFactor), which does not divide d_model \(C)")
                }
            }
            guard let targetModules else { return }
            let outputs = Self.outputKinds(config.architecture)
            let allowed = outputs.map(\.rawValue) + outputs.compactMap(\.peftName)
            guard !targetModules.isEmpty else { throw fail(.targetModules, "is empty; give at least one of \(allowed)") }
            for m in targetModules where !allowed.contains(m) {
                throw fail(.targetModules, "contains unknown module \"\(m)\"; adapters go after \(allowed)")
            }
            let kinds = targetModules.compactMap(LinearSite.Kind.init(moduleName:))
            guard Set(kinds).count == kinds.count else {
                throw fail(.targetModules, "lists a module twice: \(targetModules)")
            }
        }

        /// The two sites whose output feeds the residual stream: o and the MLP's output.
        static func outputKinds(_ architecture: ModelConfig.Architecture) -> [LinearSite.Kind] {
            architecture == .llama ? [.o, .down] : [.o, .proj]
        }

        /// The bottleneck size m on a model of width `dModel`.
        public func bottleneck(dModel: Int) -> Int { adapterSize ?? dModel / reductionFactor }

        public func makeMethod() -> any PEFTMethod { HoulsbyAdapter(self) }

        /// The adapted kinds on `architecture` (both output sites unless `targetModules` says).
        func kinds(_ architecture: ModelConfig.Architecture) -> [LinearSite.Kind] {
            let chosen = targetModules.map { Set($0.compactMap(LinearSite.Kind.init(moduleName:))) }
            return Self.outputKinds(architecture).filter { chosen?.contains($0) ?? true }
        }
    }

    public static let methodName = Configuration.methodName
    public let configuration: Configuration
    public private(set) var parameters = MethodParameters()
    public var isTraining = true
    public var label: String {
        "adapter m=\(adapterSizeLabel)" + (configuration.targetModules.map { " target_modules=\($0.joined(separator: ","))" } ?? "")
    }

    private var adapterSizeLabel: String {
        configuration.adapterSize.map(String.init) ?? "C/\(configuration.reductionFactor)"
    }

    /// One adapter (one layer, one site) and its forward cache.
    private struct Slot {
        /// View indices of adapter_down.weight [m, C], adapter_down.bias [m],
        /// adapter_up.weight [C, m], adapter_up.bias [C].
        let down: Int, downBias: Int, up: Int, upBias: Int
        /// Base output h [maxRows, C], pre-activation z, GELU gate σ(2u(z)) and a = gelu(z),
        /// each [maxRows, m], of the last forward.
        let h: FloatArena, z: FloatArena, gate: FloatArena, a: FloatArena
    }

    private var slots: [Slot] = []
    /// Slot of (layer, kind), -1 when not adapted: index `layer·6 + kind`.
    private var slotIndex: [Int] = []
    private var C = 0, m = 0, maxRows = 0
    /// Backward scratch: dz [maxRows, m] and dy_base [maxRows, max(C, m)] (it holds
    /// da = dy·W_up [rows, m] before dy_base).
    private var dz = FloatArena(count: 0), dyBase = FloatArena(count: 0)

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public func attach(to model: TransformerModel, rng: inout SeededRNG) throws {
        try configuration.validate(for: model.config)
        let config = model.config
        C = config.dModel
        m = configuration.bottleneck(dModel: C)
        maxRows = model.activations.maxB * model.activations.maxT
        parameters = MethodParameters()
        var views: [(LinearSite, Int, Int, Int, Int)] = []
        for l in 0..<config.layers {
            for kind in configuration.kinds(config.architecture) {
                let site = LinearSite(layer: l, kind: kind), p = site.name
                views.append((site,
                              parameters.add(p + ".adapter_down.weight", shape: [m, C], decays: false),
                              parameters.add(p + ".adapter_down.bias", shape: [m], decays: false),
                              parameters.add(p + ".adapter_up.weight", shape: [C, m], decays: false),
                              parameters.add(p + ".adapter_up.bias", shape: [C], decays: false)))
            }
        }
        parameters.seal()
        slotIndex = Array(repeating: -1, count: LinearSite.tableSize(layers: config.layers))
        slots = views.enumerated().map { i, v in
            let (site, down, downBias, up, upBias) = v
            let w = Tensor.kaimingUniform(shape: [m, C], rng: &rng)
            w.storage.withUnsafeBufferPointer { parameters.value(down).update(from: $0.baseAddress!, count: m * C) }
            slotIndex[site.index] = i
            return Slot(down: down, downBias: downBias, up: up, upBias: upBias,
                        h: FloatArena(count: maxRows * C), z: FloatArena(count: maxRows * m),
                        gate: FloatArena(count: maxRows * m), a: FloatArena(count: maxRows * m))
        }
        dz = FloatArena(count: maxRows * m)
        dyBase = FloatArena(count: maxRows * max(C, m))
        model.parameters.setRequiresGradForAll(false)
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

    // MARK: LinearSiteHook

    /// h = y; z = h·W_downᵀ + b_down; a = gelu(z); y = h + a·W_upᵀ + b_up.
    public func forward(site: LinearSite, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int) {
        guard let s = slot(site) else { return }
        precondition(rows <= maxRows, "adapter: \(rows) rows exceed the capacity \(maxRows) sized at attach")
        let C = C, m = m
        let h = s.h.pointer, z = s.z.pointer, a = s.a.pointer
        let bDown = parameters.value(s.downBias), bUp = parameters.value(s.upBias)
        h.update(from: y, count: rows * C)
        for r in 0..<rows { (z + r * m).update(from: bDown, count: m) }
        BLAS.sgemmBlocked(transA: false, transB: true, m: rows, n: m, k: C, alpha: 1, a: h, lda: C,
                          b: parameters.value(s.down), ldb: C, beta: 1, c: z, ldc: m)
        GELU.forward(out: a, gate: s.gate.pointer, x: z, N: rows * m)
        for r in 0..<rows {
            let row = y + r * C
            for c in 0..<C { row[c] += bUp[c] }
        }
        BLAS.sgemmBlocked(transA: false, transB: true, m: rows, n: C, k: m, alpha: 1, a: a, lda: m,
                          b: parameters.value(s.up), ldb: m, beta: 1, c: y, ldc: C)
    }

    /// The adapter never writes dx: the base backward forms it from dy_base.
    public func accumulatesInputGradient(for site: LinearSite) -> Bool { false }

    /// Accumulates the adapter's gradients; returns dy_base = dy + (gelu'(z) ⊙ dy·W_up)·W_down.
    public func backward(
        site: LinearSite, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int
    ) -> UnsafePointer<Float>? {
        guard let s = slot(site) else { return nil }
        let C = C, m = m
        let dz = dz.pointer, out = dyBase.pointer
        let dbUp = parameters.gradient(s.upBias), dbDown = parameters.gradient(s.downBias)
        // dW_up [C, m] += dyᵀ·a;  db_up += Σ_rows dy
        BLAS.sgemmBlocked(transA: true, transB: false, m: C, n: m, k: rows, alpha: 1, a: dy, lda: C,
                          b: s.a.pointer, ldb: m, beta: 1, c: parameters.gradient(s.up), ldc: m)
        for r in 0..<rows {
            let d = dy + r * C
            for c in 0..<C { dbUp[c] += d[c] }
        }
        // da = dy·W_up [rows, m] (into `out` as scratch), dz = gelu'(z) ⊙ da
        BLAS.sgemmBlocked(transA: false, transB: false, m: rows, n: m, k: C, alpha: 1, a: dy, lda: C,
                          b: parameters.value(s.up), ldb: m, beta: 0, c: out, ldc: m)
        GELU.backward(dx: dz, dout: out, x: s.z.pointer, gate: s.gate.pointer, N: rows * m, accumulate: false)
        // dW_down [m, C] += dzᵀ·h;  db_down += Σ_rows dz
        BLAS.sgemmBlocked(transA: true, transB: false, m: m, n: C, k: rows, alpha: 1, a: dz, lda: m,
                          b: s.h.pointer, ldb: C, beta: 1, c: parameters.gradient(s.down), ldc: C)
        for r in 0..<rows {
            let d = dz + r * m
            for j in 0..<m { dbDown[j] += d[j] }
        }
        // dy_base = dy + dz·W_down
        out.update(from: dy, count: rows * C)
        BLAS.sgemmBlocked(transA: false, transB: false, m: rows, n: C, k: m, alpha: 1, a: dz, lda: m,
                          b: parameters.value(s.down), ldb: C, beta: 1, c: out, ldc: C)
        return UnsafePointer(out)
    }

    // MARK: Weight space

    /// nil: an adapter is a non-linear function of the sublayer output, with no ΔW.
    public func delta(for site: LinearSite, model: TransformerModel) -> Tensor? { nil }

    /// Per adapter: W_down (m·C) + b_down (m) + W_up (C·m) + b_up (C); one adapter per
    /// target module per layer: L·|targets|·(2·C·m + m + C).
    public func expectedTrainableParameterCount(config: ModelConfig) -> Int {
        let C = config.dModel, m = configuration.bottleneck(dModel: C)
        return config.layers * configuration.kinds(config.architecture).count * (2 * C * m + m + C)
    }
}
