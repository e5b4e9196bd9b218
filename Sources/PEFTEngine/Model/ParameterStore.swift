/// One named parameter tensor inside the arena.
public struct ParameterView: Equatable, Sendable {
    /// Name, e.g. "blocks.0.attn.q.weight" (HDF5 dataset name, ΔW analysis key).
    public let name: String
    /// Shape as PyTorch would report it, e.g. [out, in] for a linear weight.
    public let shape: [Int]
    /// First element in the arena.
    public let offset: Int
    /// Element count, `shape.reduce(1, *)`.
    public let count: Int
    /// Whether AdamW applies weight decay: true for the matrices of linear layers
    /// (q, k, v, o, fc, proj, lm_head); false for biases, LayerNorm gains/shifts and the
    /// two embeddings (the GPT-2/nanoGPT convention: decay only ≥2-D weights that multiply
    /// activations).
    public let decays: Bool

    /// Arena elements of this view.
    public var range: Range<Int> { offset..<(offset + count) }
}

/// All parameters of the transformer in ONE contiguous Float arena, with named views.
///
/// Layout (in this order, each view row-major, no padding):
/// ```
/// wte                         [V, C]
/// wpe                         [maxT, C]
/// for l in 0..<L:
///   blocks.l.ln1.weight       [C]        blocks.l.ln1.bias      [C]
///   blocks.l.attn.q.weight    [C, C]     blocks.l.attn.q.bias   [C]
///   blocks.l.attn.k.weight    [C, C]     blocks.l.attn.k.bias   [C]
///   blocks.l.attn.v.weight    [C, C]     blocks.l.attn.v.bias   [C]
///   blocks.l.attn.o.weight    [C, C]     blocks.l.attn.o.bias   [C]
///   blocks.l.ln2.weight       [C]        blocks.l.ln2.bias      [C]
///   blocks.l.mlp.fc.weight    [F, C]     blocks.l.mlp.fc.bias   [F]
///   blocks.l.mlp.proj.weight  [C, F]     blocks.l.mlp.proj.bias [C]
/// ln_f.weight [C], ln_f.bias [C]
/// lm_head.weight              [V, C]     (untied, no bias)
/// ```
/// and for the LLaMA block (RMSNorm gains, no biases, rotary positions instead of `wpe`):
/// ```
/// wte                         [V, C]
/// for l in 0..<L:
///   blocks.l.ln1.weight       [C]        (input_layernorm)
///   blocks.l.attn.q.weight    [C, C]     blocks.l.attn.k.weight [KVC, C]
///   blocks.l.attn.v.weight    [KVC, C]   blocks.l.attn.o.weight [C, C]
///   blocks.l.ln2.weight       [C]        (post_attention_layernorm)
///   blocks.l.mlp.gate.weight  [F, C]     blocks.l.mlp.up.weight [F, C]
///   blocks.l.mlp.down.weight  [C, F]
/// ln_f.weight [C]                        (model.norm)
/// lm_head.weight              [V, C]     (only when the head is not tied to wte)
/// ```
/// Linear weights are stored [out, in] like PyTorch (y = x·Wᵀ + b).
/// `gradients` mirrors `values` element for element; `requiresGrad` is per view.
public final class ParameterStore {
    public let config: ModelConfig
    /// Views in the stable enumeration order above.
    public let views: [ParameterView]
    /// Parameter values.
    public let values: FloatArena
    /// dLoss/dValue, same layout as `values`. Frozen views stay zero.
    public let gradients: FloatArena
    /// Per view (same order as `views`): whether backward computes its gradient and the
    /// optimizer updates it. All true at creation (full fine-tuning).
    public private(set) var requiresGrad: [Bool] {
        didSet { trainableSegments = Self.segments(views: views, requiresGrad: requiresGrad) }
    }
    /// Trainable arena ranges, adjacent views merged when they share the decay flag:
    /// the optimizer's flat loops run over exactly these. Recomputed when a flag changes.
    public private(set) var trainableSegments: [TrainableSegment]
    private let indexByName: [String: Int]

    public init(config: ModelConfig) {
        self.config = config
        var views: [ParameterView] = []
        var offset = 0
        func add(_ name: String, _ shape: [Int], _ decays: Bool) {
            let count = shape.reduce(1, *)
            views.append(ParameterView(name: name, shape: shape, offset: offset, count: count, decays: decays))
            offset += count
        }
        if config.isLlama { Self.llamaLayout(config, add: add) } else { Self.gpt2Layout(config, add: add) }
        self.views = views
        self.values = FloatArena(count: offset)
        self.gradients = FloatArena(count: offset)
        self.requiresGrad = Array(repeating: true, count: views.count)
        self.trainableSegments = Self.segments(views: views, requiresGrad: requiresGrad)
        var index: [String: Int] = [:]
        for (i, v) in views.enumerated() { index[v.name] = i }
        self.indexByName = index
    }

    /// The GPT-2 block's views, in the order documented on the type.
    private static func gpt2Layout(_ config: ModelConfig, add: (String, [Int], Bool) -> Void) {
        let V = config.vocabSize, C = config.dModel, F = config.dFF
        add("wte", [V, C], false)
        add("wpe", [config.contextLength, C], false)
        for l in 0..<config.layers {
            add("blocks.\(l).ln1.weight", [C], false)
            add("blocks.\(l).ln1.bias", [C], false)
            for kind in ["q", "k", "v", "o"] {
                add("blocks.\(l).attn.\(kind).weight", [C, C], true)
                add("blocks.\(l).attn.\(kind).bias", [C], false)
            }
            add("blocks.\(l).ln2.weight", [C], false)
            add("blocks.\(l).ln2.bias", [C], false)
            add("blocks.\(l).mlp.fc.weight", [F, C], true)
            add("blocks.\(l).mlp.fc.bias", [F], false)
            add("blocks.\(l).mlp.proj.weight", [C, F], true)
            add("blocks.\(l).mlp.proj.bias", [C], false)
        }
        add("ln_f.weight", [C], false)
        add("ln_f.bias", [C], false)
        add("lm_head.weight", [V, C], true)
    }

    /// The LLaMA block's views, in the order documented on the type.
    private static func llamaLayout(_ config: ModelConfig, add: (String, [Int], Bool) -> Void) {
        let V = config.vocabSize, C = config.dModel, F = config.dFF, KVC = config.kvChannels
        add("wte", [V, C], false)
        for l in 0..<config.layers {
            add("blocks.\(l).ln1.weight", [C], false)
            for (kind, rows) in [("q", C), ("k", KVC), ("v", KVC), ("o", C)] {
                add("blocks.\(l).attn.\(kind).weight", [rows, C], true)
            }
            add("blocks.\(l).ln2.weight", [C], false)
            add("blocks.\(l).mlp.gate.weight", [F, C], true)
            add("blocks.\(l).mlp.up.weight", [F, C], true)
            add("blocks.\(l).mlp.down.weight", [C, F], true)
        }
        add("ln_f.weight", [C], false)
        if !config.tiedEmbeddings { add("lm_head.weight", [V, C], true) }
    }

    /// Total number of parameters.
    public var count: Int { values.count }

    /// The parameter count of `config` in closed form, in Double (no allocation, no loop over
    /// layers, no overflow for any size a study may write): the layouts above, summed.
    public static func estimatedCount(_ config: ModelConfig) -> Double {
        let V = Double(config.vocabSize), C = Double(config.dModel), F = Double(config.dFF), L = Double(config.layers)
        if config.isLlama {
            let KVC = Double(config.kvChannels)
            let block = C + (C * C + 2 * KVC * C + C * C) + C + 3 * F * C
            return V * C + L * block + C + (config.tiedEmbeddings ? 0 : V * C)
        }
        let block = 2 * C + 4 * (C * C + C) + 2 * C + (F * C + F) + (C * F + C)
        return V * C + Double(config.contextLength) * C + L * block + 2 * C + V * C
    }

    /// Names in enumeration order.
    public var names: [String] { views.map(\.name) }

    /// The view called `name`; traps on an unknown name (a programmer mistake).
    public func view(named name: String) -> ParameterView {
        views[index(of: name)]
    }

    /// Position of `name` in `views`.
    public func index(of name: String) -> Int {
        guard let i = indexByName[name] else {
            preconditionFailure("ParameterStore: no parameter named \"\(name)\"")
        }
        return i
    }

    /// Whether `name` is a parameter of this model.
    public func contains(_ name: String) -> Bool { indexByName[name] != nil }

    /// A copy of the named parameter as a tensor of its shape.
    public func tensor(named name: String) -> Tensor {
        let v = view(named: name)
        return Tensor(shape: v.shape, storage: values.copy(v.range))
    }

    /// A copy of the named parameter's gradient.
    public func gradient(named name: String) -> Tensor {
        let v = view(named: name)
        return Tensor(shape: v.shape, storage: gradients.copy(v.range))
    }

    /// Overwrites the named parameter with `tensor` (checkpoint restore).
    /// Throws if the shapes differ.
    public func load(named name: String, from tensor: Tensor) throws {
        guard let i = indexByName[name] else { throw ParameterStoreError.unknownName(name) }
        let v = views[i]
        guard tensor.shape == v.shape else {
            throw ParameterStoreError.shapeMismatch(name: name, expected: v.shape, got: tensor.shape)
        }
        tensor.storage.withUnsafeBufferPointer { src in
            values.at(v.offset).update(from: src.baseAddress!, count: v.count)
        }
    }

    /// Freezes or unfreezes the named parameter.
    public func setRequiresGrad(_ flag: Bool, named name: String) {
        requiresGrad[index(of: name)] = flag
    }

    /// Freezes or unfreezes every parameter.
    public func setRequiresGradForAll(_ flag: Bool) {
        for i in requiresGrad.indices { requiresGrad[i] = flag }
    }

    /// Whether the named parameter is trainable.
    public func requiresGrad(named name: String) -> Bool { requiresGrad[index(of: name)] }

    private static func segments(views: [ParameterView], requiresGrad: [Bool]) -> [TrainableSegment] {
        var out: [TrainableSegment] = []
        for (i, v) in views.enumerated() where requiresGrad[i] {
            if let last = out.last, last.range.upperBound == v.offset, last.decays == v.decays {
                out[out.count - 1] = TrainableSegment(range: last.range.lowerBound..<v.range.upperBound, decays: v.decays)
            } else {
                out.append(TrainableSegment(range: v.range, decays: v.decays))
            }
        }
        return out
    }

    /// Number of trainable parameters.
    public var trainableCount: Int { trainableSegments.reduce(0) { $0 + $1.range.count } }

    /// Zeroes the gradients of every trainable view (frozen ones are never written).
    public func zeroGradients() {
        for s in trainableSegments { gradients.zero(s.range) }
    }
}

/// A run of trainable arena elements that share one weight-decay flag.
public struct TrainableSegment: Equatable, Sendable {
    public let range: Range<Int>
    public let decays: Bool
}

/// Errors of checkpoint loading.
public enum ParameterStoreError: Error, Equatable, CustomStringConvertible {
    case unknownName(String)
    case shapeMismatch(name: String, expected: [Int], got: [Int])

    public var description: String {
        switch self {
        case .unknownName(let n): return "parameter store: no parameter named \"\(n)\""
        case .shapeMismatch(let n, let e, let g):
            return "parameter store: \"\(n)\" has shape \(e), tensor has \(g)"
        }
    }
}
