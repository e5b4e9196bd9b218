/// One of the linear layers of a block: where PEFT methods attach.
///
/// Every linear site goes through `TransformerModel.linearForward(_:…)` and
/// `linearBackward(_:…)`, so a method can swap the effective weight (merged LoRA,
/// dequantised NF4, DoRA) or add a parallel path (LoRA's x·Aᵀ·Bᵀ) in one place.
///
/// A GPT-2 block has q, k, v, o, fc, proj; a LLaMA block q, k, v, o, gate, up, down
/// (peft's `q_proj` … `down_proj`).
public struct LinearSite: Hashable, Sendable, CustomStringConvertible {
    /// Which projection of the block.
    public enum Kind: String, CaseIterable, Sendable {
        case q, k, v, o, fc, proj, gate, up, down

        /// The kinds of one block of `architecture`, in forward order.
        public static func kinds(of architecture: ModelConfig.Architecture) -> [Kind] {
            switch architecture {
            case .gpt2: [.q, .k, .v, .o, .fc, .proj]
            case .llama: [.q, .k, .v, .o, .gate, .up, .down]
            }
        }

        /// The module name peft and transformers use for this kind in a LLaMA model
        /// (`q_proj`, …, `down_proj`); GPT-2-style kinds have only the engine's name.
        public var peftName: String? {
            switch self {
            case .q, .k, .v, .o, .gate, .up, .down: rawValue + "_proj"
            case .fc, .proj: nil
            }
        }

        /// The kind a `target_modules` entry names: the engine's name ("q", "fc") or peft's
        /// ("q_proj", "down_proj").
        public init?(moduleName: String) {
            if let kind = Kind(rawValue: moduleName) { self = kind; return }
            guard let kind = Kind.allCases.first(where: { $0.peftName == moduleName }) else { return nil }
            self = kind
        }

        /// The module names a `target_modules` list may use on `architecture`, engine names first.
        public static func moduleNames(of architecture: ModelConfig.Architecture) -> [String] {
            let kinds = kinds(of: architecture)
            return kinds.map(\.rawValue) + kinds.compactMap(\.peftName)
        }

        /// peft's name for every linear layer of the block.
        public static let allLinear = "all-linear"

        /// The kinds a `target_modules` list names on `architecture`, in block order: engine
        /// names ("q", "fc") and peft's ("q_proj") alike, or "all-linear" for every kind.
        /// Throws a sentence naming the first name the architecture does not have.
        public static func resolve(_ names: [String], architecture: ModelConfig.Architecture) throws(ModuleNameError) -> [Kind] {
            let kinds = kinds(of: architecture)
            var chosen = Set<Kind>()
            for name in names {
                if name == allLinear { chosen.formUnion(kinds); continue }
                guard let kind = Kind(moduleName: name), kinds.contains(kind) else {
                    throw ModuleNameError(name: name, architecture: architecture)
                }
                chosen.insert(kind)
            }
            return kinds.filter(chosen.contains)
        }

        /// Whether `names` is every linear layer of some architecture (label shorthand).
        public static func namesEveryKind(_ names: [String]) -> Bool {
            ModelConfig.Architecture.allCases.contains { architecture in
                (try? resolve(names, architecture: architecture)) == kinds(of: architecture)
            }
        }

        /// Whether the kind belongs to the MLP half of the block.
        public var isMLP: Bool {
            switch self {
            case .q, .k, .v, .o: false
            case .fc, .proj, .gate, .up, .down: true
            }
        }
    }

    public var layer: Int
    public var kind: Kind

    public init(layer: Int, kind: Kind) {
        self.layer = layer
        self.kind = kind
    }

    /// Parameter-name prefix, e.g. "blocks.2.attn.q" or "blocks.0.mlp.fc".
    public var name: String {
        kind.isMLP ? "blocks.\(layer).mlp.\(kind.rawValue)" : "blocks.\(layer).attn.\(kind.rawValue)"
    }

    public var weightName: String { name + ".weight" }

    /// Dense position among all sites of any model: layer · 9 + the kind's position in
    /// `Kind.allCases` (for per-site lookup tables of `tableSize(layers:)` entries).
    public var index: Int {
        layer * Kind.allCases.count + Kind.allCases.firstIndex(of: kind)!
    }

    /// Entries of a per-site lookup table indexed by `index`.
    public static func tableSize(layers: Int) -> Int { layers * Kind.allCases.count }

    public var biasName: String { name + ".bias" }
    public var description: String { name }

    /// (in, out) features of this site for `config`: q and o are C→C, k and v C→KV·HS
    /// (C without grouped-query attention), fc, gate and up C→F, proj and down F→C.
    public func features(_ config: ModelConfig) -> (input: Int, output: Int) {
        switch kind {
        case .q, .o: return (config.dModel, config.dModel)
        case .k, .v: return (config.dModel, config.kvChannels)
        case .fc, .gate, .up: return (config.dModel, config.dFF)
        case .proj, .down: return (config.dFF, config.dModel)
        }
    }

    /// All sites of a model, layer by layer in the block's kind order.
    public static func all(_ config: ModelConfig) -> [LinearSite] {
        let kinds = Kind.kinds(of: config.architecture)
        return (0..<config.layers).flatMap { l in kinds.map { LinearSite(layer: l, kind: $0) } }
    }

    /// All sites of a GPT-2-style model with `layers` blocks (q, k, v, o, fc, proj each).
    public static func all(layers: Int) -> [LinearSite] {
        (0..<layers).flatMap { l in Kind.kinds(of: .gpt2).map { LinearSite(layer: l, kind: $0) } }
    }
}

/// A `target_modules` entry that names no linear layer of the model's architecture.
public struct ModuleNameError: Error, Equatable, CustomStringConvertible {
    public let name: String
    public let architecture: ModelConfig.Architecture

    public var description: String {
        let known = LinearSite.Kind.moduleNames(of: architecture) + [LinearSite.Kind.allLinear]
        return "contains \"\(name)\", which is not a linear layer of a \(architecture.rawValue) block; known: \(known.joined(separator: ", "))"
    }
}
