/// One of the six linear layers of a block: where PEFT methods attach.
///
/// Every linear site goes through `TransformerModel.linearForward(_:…)` and
/// `linearBackward(_:…)`, so a method can swap the effective weight (merged LoRA,
/// dequantised NF4, DoRA) or add a parallel path (LoRA's x·Aᵀ·Bᵀ) in one place.
public struct LinearSite: Hashable, Sendable, CustomStringConvertible {
    /// Which projection of the block.
    public enum Kind: String, CaseIterable, Sendable {
        case q, k, v, o, fc, proj
    }

    public var layer: Int
    public var kind: Kind

    public init(layer: Int, kind: Kind) {
        self.layer = layer
        self.kind = kind
    }

    /// Parameter-name prefix, e.g. "blocks.2.attn.q" or "blocks.0.mlp.fc".
    public var name: String {
        switch kind {
        case .q, .k, .v, .o: return "blocks.\(layer).attn.\(kind.rawValue)"
        case .fc, .proj: return "blocks.\(layer).mlp.\(kind.rawValue)"
        }
    }

    public var weightName: String { name + ".weight" }

    /// Dense position among all sites of a model: layer · 6 + the kind's position in
    /// `Kind.allCases` (for per-site lookup tables).
    public var index: Int {
        layer * Kind.allCases.count + Kind.allCases.firstIndex(of: kind)!
    }
    public var biasName: String { name + ".bias" }
    public var description: String { name }

    /// (in, out) features of this site for `config`: q, k, v, o are C→C, fc is C→F, proj F→C.
    public func features(_ config: ModelConfig) -> (input: Int, output: Int) {
        switch kind {
        case .q, .k, .v, .o: return (config.dModel, config.dModel)
        case .fc: return (config.dModel, config.dFF)
        case .proj: return (config.dFF, config.dModel)
        }
    }

    /// All sites of a model, layer by layer in the order q, k, v, o, fc, proj.
    public static func all(layers: Int) -> [LinearSite] {
        (0..<layers).flatMap { l in Kind.allCases.map { LinearSite(layer: l, kind: $0) } }
    }
}
