/// A PEFT method's own trainable tensors (LoRA's A and B, IA3's vectors, prefixes, …) in one
/// arena with named views, mirrored by a gradient arena — the same layout discipline as the
/// model's `ParameterStore`, so AdamW runs one flat loop over `segments`.
///
/// Views are added while the method attaches (`add`), then `seal()` allocates the arenas.
/// Names are the method's own, e.g. "blocks.0.attn.q.lora_A" [r, in] (peft's naming).
public final class MethodParameters {
    public private(set) var views: [ParameterView] = []
    /// Values and gradients; empty (count 0) until `seal()`.
    public private(set) var values = FloatArena(count: 0)
    public private(set) var gradients = FloatArena(count: 0)
    private var indexByName: [String: Int] = [:]
    private var sealed = false

    public init() {}

    /// Declares a tensor; returns its view index. `decays`: AdamW applies weight decay.
    @discardableResult
    public func add(_ name: String, shape: [Int], decays: Bool) -> Int {
        precondition(!sealed, "MethodParameters: add(\"\(name)\") after seal()")
        precondition(indexByName[name] == nil, "MethodParameters: duplicate name \"\(name)\"")
        let offset = views.last.map { $0.offset + $0.count } ?? 0
        let count = shape.reduce(1, *)
        views.append(ParameterView(name: name, shape: shape, offset: offset, count: count, decays: decays))
        indexByName[name] = views.count - 1
        return views.count - 1
    }

    /// Allocates the (zeroed) arenas for every declared view.
    public func seal() {
        precondition(!sealed, "MethodParameters: sealed twice")
        let total = views.last.map { $0.offset + $0.count } ?? 0
        values = FloatArena(count: total)
        gradients = FloatArena(count: total)
        sealed = true
    }

    /// Total number of elements (trainable parameters of the method itself).
    public var count: Int { values.count }

    public var names: [String] { views.map(\.name) }

    public func index(of name: String) -> Int? { indexByName[name] }

    /// Value and gradient pointers of view `i`.
    @inline(__always) public func value(_ i: Int) -> UnsafeMutablePointer<Float> { values.at(views[i].offset) }
    @inline(__always) public func gradient(_ i: Int) -> UnsafeMutablePointer<Float> { gradients.at(views[i].offset) }

    /// Optimizer segments: every view, adjacent ones with the same decay flag merged.
    public var segments: [TrainableSegment] {
        var out: [TrainableSegment] = []
        for v in views where v.count > 0 {
            if let last = out.last, last.range.upperBound == v.offset, last.decays == v.decays {
                out[out.count - 1] = TrainableSegment(range: last.range.lowerBound..<v.range.upperBound, decays: v.decays)
            } else {
                out.append(TrainableSegment(range: v.range, decays: v.decays))
            }
        }
        return out
    }

    /// A copy of a view as a tensor (checkpoints, tests).
    public func tensor(named name: String) -> Tensor {
        guard let i = indexByName[name] else { preconditionFailure("MethodParameters: no tensor \"\(name)\"") }
        let v = views[i]
        return Tensor(shape: v.shape, storage: values.copy(v.range))
    }

    /// A copy of a view's gradient.
    public func gradientTensor(named name: String) -> Tensor {
        guard let i = indexByName[name] else { preconditionFailure("MethodParameters: no tensor \"\(name)\"") }
        let v = views[i]
        return Tensor(shape: v.shape, storage: gradients.copy(v.range))
    }

    /// Overwrites a view from `tensor` (checkpoint restore); throws on unknown name or shape.
    public func load(named name: String, from tensor: Tensor) throws {
        guard let i = indexByName[name] else { throw ParameterStoreError.unknownName(name) }
        let v = views[i]
        guard tensor.shape == v.shape else {
            throw ParameterStoreError.shapeMismatch(name: name, expected: v.shape, got: tensor.shape)
        }
        tensor.storage.withUnsafeBufferPointer { values.at(v.offset).update(from: $0.baseAddress!, count: v.count) }
    }

    public func zeroGradients() { gradients.zeroAll() }
}
