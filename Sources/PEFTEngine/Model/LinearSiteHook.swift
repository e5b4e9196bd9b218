/// What a PEFT method plugs into linear sites. All pointers are row-major Float32,
/// valid only during the call; `rows` is M = B·T.
///
/// Order of calls at a site with base weight W (possibly substituted) and bias b:
/// - forward: `y = x·W_effᵀ + b`, then `forward(site:x:y:…)` may modify y in place
///   (add a low-rank path, scale outputs);
/// - backward: `backward(site:x:y:dy:dx:…)` runs first and accumulates into the method's own
///   gradients and, when dx is given, into dx (dy, the gradient of the site's final output,
///   is read-only: for o and proj it is the residual stream's gradient). It returns the
///   gradient with respect to the *base* output `x·W_effᵀ + b_eff` when that differs from dy
///   (a method that transforms the output, like IA3's scaling or a Houlsby adapter, must
///   return it), or nil when it is dy itself (an additive path like LoRA). Then the base
///   backward computes `dx += dy_base·W_eff` (when dx is given) and, only where the stored
///   weight/bias require grad, `dW += dy_baseᵀ·x`, `db += Σ dy_base` (gradients with respect
///   to the *stored* tensors, exact when no substitution is active). dx is nil where nothing
///   needs the input gradient: block 0's q/k/v when the embeddings and ln1 are frozen.
/// A method that scales outputs (IA3, DoRA) substitutes both weight and bias; a method that
/// adds a path (LoRA) only implements `forward`/`backward`. Every verb but `backward` has a
/// default (no effect), so a method implements only what it needs; `backward` has none, so
/// a conformer whose signature does not match fails to compile instead of being skipped.
public protocol LinearSiteHook: AnyObject {
    /// The weight [out, in] this site multiplies by instead of the stored one, or nil to
    /// use the stored weight. The pointer must stay valid until the next call.
    func effectiveWeight(for site: LinearSite) -> UnsafePointer<Float>?
    /// The bias [out] used instead of the stored one, or nil for the stored bias.
    func effectiveBias(for site: LinearSite) -> UnsafePointer<Float>?
    /// Post-processes the base output y [rows, out] given input x [rows, in].
    func forward(site: LinearSite, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int)
    /// Whether `backward` at `site` already accumulates the complete input gradient
    /// (`dx += dy_base·W_eff`, or its equivalent), so the base backward skips that GEMM.
    /// Default false. IA3 uses it at input-scaled sites: it needs g = dy·W for its own
    /// gradient anyway and forms dx = l ⊙ g from it, saving one [M, in]×[in, out] product.
    func handlesInputGradient(for site: LinearSite) -> Bool
    /// Whether `backward` at `site` may add anything into dx (default true, always safe).
    /// A hook that never touches dx there returns false; the model then lets the base's
    /// `dx = dy_base·W_eff` sgemm overwrite dx instead of zeroing it first.
    func accumulatesInputGradient(for site: LinearSite) -> Bool
    /// Backward of `forward`; returns dLoss/d(base output) if it differs from `dy`, else nil.
    /// dx is nil where nothing needs the input gradient (block 0's q/k/v when the embeddings
    /// and ln1 are frozen): the hook then forms only its own gradients.
    /// See the type's documentation for the order.
    func backward(
        site: LinearSite, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int) -> UnsafePointer<Float>?
}

extension LinearSiteHook {
    public func effectiveWeight(for site: LinearSite) -> UnsafePointer<Float>? { nil }
    public func effectiveBias(for site: LinearSite) -> UnsafePointer<Float>? { nil }
    public func forward(site: LinearSite, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows: Int) {}
    public func handlesInputGradient(for site: LinearSite) -> Bool { false }
    public func accumulatesInputGradient(for site: LinearSite) -> Bool { true }
}
