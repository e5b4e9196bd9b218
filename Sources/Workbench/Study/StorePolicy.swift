/// What a study stores of each cell (the `store:` block of a study file).
///
/// ```yaml
/// store: {delta: factors, weights: final, spectrum_k: 16}
/// ```
/// Bytes per stage for one d × d linear site (float32): `dense` 4d², `bfloat16` 2d², `factors`
/// 4r(2d) for a rank-r LoRA (nothing beyond the method tensors the cell stores anyway),
/// `spectrum` 4(d + 2kd), `none` 0. The analyses say which setting they need when a cell lacks it.
public struct StorePolicy: Equatable, Sendable {
    /// How ΔW of each linear site is stored after every task.
    public enum Delta: String, CaseIterable, Sendable {
        /// float32 [out, in], exact.
        case dense
        /// bfloat16 [out, in] (round to nearest even): relative error ≤ 2⁻⁹ ≈ 0.2 % per entry,
        /// half the bytes.
        case bfloat16
        /// Nothing beyond the method's own tensors (LoRA's A and B and its scaling, DoRA's
        /// magnitudes, IA3's vectors, stored every stage); ΔW is rebuilt on read through the
        /// method's `delta(for:)`, bit for bit what the cell computed. Full fine-tuning, and
        /// every method under the `merge` protocol (whose ΔW is cumulative), store it dense.
        case factors
        /// The singular values and the top `spectrumK` singular vectors (U [out, k], V [in, k]):
        /// enough for the spectrum, subspace and intruder analyses up to rank k, not for those
        /// that need the whole ΔW (the low-rank test, NF4 merges).
        case spectrum
        /// No ΔW.
        case none
    }

    /// The trainable tensors (the trained base views and the method's own tensors) per stage.
    public enum Weights: String, CaseIterable, Sendable {
        /// After every task.
        case every
        /// After the last task only (what the next study or an adapter export needs).
        case final
        /// Never (the method's tensors are still stored every stage under `delta: factors`).
        case none
    }

    public var delta: Delta
    public var weights: Weights
    /// Singular vectors kept per site under `delta: spectrum`.
    public var spectrumK: Int

    /// The default: ΔW as factors (dense for full fine-tuning), weights of the final stage.
    public init(delta: Delta = .factors, weights: Weights = .final, spectrumK: Int = 16) {
        self.delta = delta
        self.weights = weights
        self.spectrumK = spectrumK
    }

    static let keys = ["delta", "weights", "spectrum_k"]
}
