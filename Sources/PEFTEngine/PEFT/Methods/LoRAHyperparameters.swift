/// The hyperparameters every LoRA-family method (LoRA, DoRA, QLoRA) shares, under HF peft's
/// `LoraConfig` field names, with peft's defaults:
///
/// | key                   | default        | meaning                                              |
/// |-----------------------|----------------|------------------------------------------------------|
/// | `r`                   | 8              | rank of ΔW = s·B·A                                   |
/// | `lora_alpha`          | 8              | s = α/r, or α/√r with `use_rslora`                   |
/// | `lora_dropout`        | 0              | dropout on the LoRA path's input (training only)     |
/// | `target_modules`      | every linear   | GPT-2 "q" … "proj"; LLaMA "q_proj" … "down_proj"; "all-linear" |
/// | `layers_to_transform` | nil (all)      | block indices to adapt                               |
/// | `use_rslora`          | false          | rank-stabilised scaling (Kalajdzievski 2023)          |
///
/// Decoding fills missing keys with the defaults; `validate(method:for:)` checks the values
/// against a model and names the offending key.
public struct LoRAHyperparameters: Codable, Equatable, Sendable {
    public var r: Int
    public var loraAlpha: Float
    public var loraDropout: Float
    public var targetModules: [String]
    public var layersToTransform: [Int]?
    public var useRSLoRA: Bool

    public static let fieldNames = ["r", "lora_alpha", "lora_dropout", "target_modules", "layers_to_transform", "use_rslora"]

    public init(
        r: Int = 8, loraAlpha: Float = 8, loraDropout: Float = 0,
        targetModules: [String] = [LinearSite.Kind.allLinear],
        layersToTransform: [Int]? = nil, useRSLoRA: Bool = false
    ) {
        self.r = r; self.loraAlpha = loraAlpha; self.loraDropout = loraDropout
        self.targetModules = targetModules; self.layersToTransform = layersToTransform; self.useRSLoRA = useRSLoRA
    }

    enum CodingKeys: String, CodingKey {
        case r, loraAlpha = "lora_alpha", loraDropout = "lora_dropout", targetModules = "target_modules"
        case layersToTransform = "layers_to_transform", useRSLoRA = "use_rslora"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = LoRAHyperparameters()
        r = try c.decodeIfPresent(Int.self, forKey: .r) ?? d.r
        loraAlpha = try c.decodeIfPresent(Float.self, forKey: .loraAlpha) ?? d.loraAlpha
        loraDropout = try c.decodeIfPresent(Float.self, forKey: .loraDropout) ?? d.loraDropout
        targetModules = try c.decodeIfPresent([String].self, forKey: .targetModules) ?? d.targetModules
        layersToTransform = try c.decodeIfPresent([Int].self, forKey: .layersToTransform)
        useRSLoRA = try c.decodeIfPresent(Bool.self, forKey: .useRSLoRA) ?? d.useRSLoRA
    }

    /// The scaling s of the low-rank path: α/r (Hu et al. 2021), or α/√r with `use_rslora`
    /// (Kalajdzievski 2023, "A Rank Stabilization Scaling Factor for Fine-Tuning with LoRA").
    public var scaling: Float {
        useRSLoRA ? loraAlpha / Float(r).squareRoot() : loraAlpha / Float(r)
    }

    /// The adapted sites of a model with configuration `config`, layer by layer in the block's
    /// order. Assumes `validate` passed (names foreign to the architecture select nothing).
    public func sites(_ config: ModelConfig) -> [LinearSite] {
        let kinds = Set((try? LinearSite.Kind.resolve(targetModules, architecture: config.architecture)) ?? [])
        let chosen = layersToTransform.map(Set.init) ?? Set(0..<config.layers)
        return LinearSite.all(config).filter { kinds.contains($0.kind) && chosen.contains($0.layer) }
    }

    /// Checks every value against `config`; throws `invalidConfiguration` naming the key.
    public func validate(method: String, for config: ModelConfig) throws {
        func fail(_ key: String, _ reason: String) -> PEFTMethodError {
            .invalidConfiguration(method: method, key: key, reason: reason)
        }
        let known = LinearSite.Kind.moduleNames(of: config.architecture) + [LinearSite.Kind.allLinear]
        guard !targetModules.isEmpty else { throw fail("target_modules", "is empty; choose from \(known)") }
        do {
            _ = try LinearSite.Kind.resolve(targetModules, architecture: config.architecture)
        } catch {
            throw fail("target_modules", error.description)
        }
        if let layers = layersToTransform {
            guard !layers.isEmpty else { throw fail("layers_to_transform", "is empty") }
            for l in layers where !(0..<config.layers).contains(l) {
                throw fail("layers_to_transform", "contains layer \(l), outside 0..<\(config.layers)")
            }
        }
        guard r >= 1 else { throw fail("r", "must be at least 1, got \(r)") }
        for site in sites(config) {
            let (i, o) = site.features(config)
            guard r <= min(i, o) else {
                throw fail("r", "= \(r) exceeds min(in, out) = \(min(i, o)) of \(site.name) [\(o), \(i)]")
            }
        }
        guard loraAlpha.isFinite && loraAlpha > 0 else { throw fail("lora_alpha", "must be finite and positive, got \(loraAlpha)") }
        guard loraDropout >= 0 && loraDropout < 1 else { throw fail("lora_dropout", "must lie in [0, 1), got \(loraDropout)") }
    }

    /// Σ over adapted sites of r·(in + out): the A [r, in] and B [out, r] of each site.
    public func lowRankParameterCount(config: ModelConfig) -> Int {
        sites(config).reduce(0) { total, site in
            let (i, o) = site.features(config)
            return total + r * (i + o)
        }
    }

    /// The label fragment shared by the family, e.g. "r=8 alpha=16 rslora dropout=0.05 targets=q,v".
    var labelFragment: String {
        var s = "r=\(r) alpha=\(loraAlpha.formatted)"
        if useRSLoRA { s += " rslora" }
        if loraDropout > 0 { s += " dropout=\(loraDropout.formatted)" }
        if !LinearSite.Kind.namesEveryKind(targetModules) { s += " targets=\(targetModules.joined(separator: ","))" }
        if let layers = layersToTransform { s += " layers=\(layers.map(String.init).joined(separator: ","))" }
        return s
    }
}

extension Float {
    /// Shortest form for labels: "8" rather than "8.0".
    fileprivate var formatted: String {
        self == rounded() && abs(self) < 1e7 ? String(Int(self)) : String(self)
    }
}
