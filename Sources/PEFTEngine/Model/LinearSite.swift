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

/// What a PEFT method plugs into linear sites. All pointers are row-major Float32,
/// valid only during the call; `rows` is M = B·T.
///
/// Order of calls at a site with base weight W (possibly substituted) and bias b:
/// - forward: `y = x·W_effᵀ + b`, then `forward(site:x:y:…)` may modify y in place
///   (add a low-rank path, scale outputs);
/// - backward: `backward(site:x:y:dy:dx:…)` runs first and accumulates into dx and the
///   method's own gradients (dy is read-only: for o and proj it is the residual stream's
///   gradient); then the base backward computes `dx += dy·W_eff` and, only where the
///   stored weight/bias require grad, `dW += dyᵀ·x`, `db += Σ dy` (gradients with respect
///   to the *stored* tensors, exact when no substitution is active).
/// A method that scales outputs (IA3) substitutes both weight and bias; a method that
/// adds a path (LoRA) only implements `forward`/`backward`. Every verb has a default
/// (no effect), so a method implements only what it needs.
public protocol LinearSiteHook: AnyObject {
    /// The weight [out, in] this site multiplies by instead of the stored one, or nil to
    /// use the stored weight. The pointer must stay valid until the next call.
    func effectiveWeight(for site: LinearSite) -> UnsafePointer<Float>?
    /// The bias [out] used instead of the stored one, or nil for the stored bias.
    func effectiveBias(for site: LinearSite) -> UnsafePointer<Float>?
    /// Post-processes the base output y [rows, out] given input x [rows, in].
    func forward(site: LinearSite, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int)
    /// Backward of `forward`; see the type's documentation for the order.
    func backward(
        site: LinearSite, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int)
}

extension LinearSiteHook {
    public func effectiveWeight(for site: LinearSite) -> UnsafePointer<Float>? { nil }
    public func effectiveBias(for site: LinearSite) -> UnsafePointer<Float>? { nil }
    public func forward(site: LinearSite, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int) {}
    public func backward(
        site: LinearSite, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, rows: Int
    ) {}
}
