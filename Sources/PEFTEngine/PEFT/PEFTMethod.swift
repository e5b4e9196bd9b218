/// A fine-tuning method: which weights it trains, how it changes the forward pass, and the
/// weight-space update ΔW it implies. Every method (full, lora, qlora, dora, adapter, prefix,
/// prompt, ia3, bitfit, ln_tuning) is one file in `PEFT/Methods/` conforming to this protocol and is
/// listed in `MethodRegistry`.
///
/// Life cycle (peft's load / fuse / unload, mlx-swift-lm's three verbs):
/// 1. `attach(to:rng:)` — freezes the base weights the method does not train, declares and
///    initialises its own tensors in `parameters`, installs its hooks on the model. A freshly
///    attached method leaves the logits unchanged (prefix and prompt tuning excepted: their
///    virtual tokens change the input by construction).
/// 2. Training: `Trainer` calls `prepareForward(model:)` before each forward,
///    `finishBackward(model:)` after each backward, and updates `parameters` and the base
///    views that still require grad.
/// 3. `delta(for:model:)` reports ΔW of a base matrix; `merge`/`unmerge` fold the method into
///    the base weights and back; `detach(from:)` removes its hooks.
///
/// Analysis only ever talks to `delta(for:model:)`: methods with no weight-space delta
/// (prompt, prefix, adapter; bitfit for matrices) return nil.
public protocol PEFTMethod: AnyObject {
    /// Registry name ("lora", "qlora", …).
    static var methodName: String { get }
    /// One line naming the method and its hyperparameters, e.g. "lora r=8 alpha=16".
    var label: String { get }
    /// The method's own trainable tensors (empty for full fine-tuning and BitFit).
    var parameters: MethodParameters { get }
    /// Training mode enables dropout; evaluation turns it off.
    var isTraining: Bool { get set }

    /// Wraps `model`; see the life cycle above. Throws when the configuration does not fit
    /// the model (e.g. a rank larger than a matrix) — before touching the model.
    func attach(to model: TransformerModel, rng: inout SeededRNG) throws
    /// Removes hooks and makes every base view trainable again (the model's default).
    func detach(from model: TransformerModel)
    /// Before every forward: recompute tensors derived from `parameters` (e.g. prefix keys
    /// from the reparametrisation MLP, DoRA's row norms).
    func prepareForward(model: TransformerModel)
    /// After every backward: chain gradients of derived tensors into `parameters`.
    func finishBackward(model: TransformerModel)

    /// ΔW [out, in] of the base matrix at `site`, relative to the weights the method was
    /// attached to; nil when the method has no weight-space delta there.
    func delta(for site: LinearSite, model: TransformerModel) -> Tensor?
    /// Whether `merge` is possible (a weight-space method).
    var canMerge: Bool { get }
    /// Folds the method into the base weights; afterwards the model computes the same
    /// function without the method's hooks.
    func merge(into model: TransformerModel) throws
    /// Undoes `merge`, restoring the base weights (to within rounding) and the hooks.
    func unmerge(from model: TransformerModel) throws

    /// The trainable-parameter count this method must have on `config`, in closed form
    /// (the formula from the method's paper / peft; the contract tests compare it with the
    /// count actually attached).
    func expectedTrainableParameterCount(config: ModelConfig) -> Int
    /// Bytes of frozen base weights as this method stores them.
    func frozenBytes(model: TransformerModel) -> Int
}

extension PEFTMethod {
    public func prepareForward(model: TransformerModel) {}
    public func finishBackward(model: TransformerModel) {}
    public var canMerge: Bool { false }

    public func merge(into model: TransformerModel) throws {
        throw PEFTMethodError.cannotMerge(method: Self.methodName, reason: "it has no weight-space form")
    }

    public func unmerge(from model: TransformerModel) throws {
        throw PEFTMethodError.cannotMerge(method: Self.methodName, reason: "it has no weight-space form")
    }

    /// Default: every frozen base view stored as Float32.
    public func frozenBytes(model: TransformerModel) -> Int {
        let p = model.parameters
        return zip(p.views, p.requiresGrad).reduce(0) { $0 + ($1.1 ? 0 : 4 * $1.0.count) }
    }

    /// Trainable parameters actually attached: base views that require grad + own tensors.
    public func trainableParameterCount(model: TransformerModel) -> Int {
        model.parameters.trainableCount + parameters.count
    }

    /// Trainable, gradient, optimizer-state and frozen bytes.
    public func memoryReport(model: TransformerModel) -> MemoryReport {
        MemoryReport(trainableParameters: trainableParameterCount(model: model), frozenBytes: frozenBytes(model: model))
    }
}

/// Why a method could not be configured, attached or merged.
public enum PEFTMethodError: Error, Equatable, CustomStringConvertible {
    /// A configuration value is out of range; `key` is peft's field name.
    case invalidConfiguration(method: String, key: String, reason: String)
    case cannotMerge(method: String, reason: String)
    /// The method does not apply to the model at all (BitFit on a model without biases).
    case notApplicable(method: String, reason: String)
    case notAttached(method: String)
    case unknownMethod(String, known: [String])

    public var description: String {
        switch self {
        case .invalidConfiguration(let m, let k, let r): return "\(m): `\(k)` \(r)"
        case .cannotMerge(let m, let r): return "\(m) cannot be merged into the base weights: \(r)"
        case .notApplicable(let m, let r): return "\(m) does not apply to this model: \(r)"
        case .notAttached(let m): return "\(m) is not attached to a model"
        case .unknownMethod(let n, let known):
            return "unknown method \"\(n)\"; known methods: \(known.joined(separator: ", "))"
        }
    }
}
