/// PEFT seam (d): P soft-prompt vectors prepended to the input embeddings (prompt tuning,
/// Lester, Al-Rfou & Constant 2021).
///
/// With a soft prompt set, `TransformerModel.forward(tokens: [B, T])` computes the model on
/// P + T positions per sequence (position p < P holds `prompt[p] + wpe[p]`, position P + t
/// holds `wte[token] + wpe[P + t]`), while the loss, `logits()` and `argmaxPredictions()`
/// cover the T real positions only; backward accumulates into `gradients`. The model needs
/// maxP ≥ P and P + T ≤ its context length (the prompt rows reach the tokens as a prefix).
///
/// The rows are not copied: `values` and `gradients` are arenas owned by the caller (e.g. a
/// method's `MethodParameters`), kept alive by this value; rows live at
/// `offset ..< offset + P·C` of both.
public struct SoftPrompt {
    /// P, the number of virtual tokens.
    public let length: Int
    /// Holds the [P, C] prompt rows at `offset`.
    public let values: FloatArena
    /// Holds the [P, C] gradient at `offset`; nil when the prompt is frozen.
    public let gradients: FloatArena?
    /// Element offset of row 0 in `values` and `gradients`.
    public let offset: Int

    public init(length: Int, values: FloatArena, gradients: FloatArena?, offset: Int = 0) {
        precondition(length >= 1, "SoftPrompt: length must be ≥ 1, got \(length)")
        precondition(offset >= 0, "SoftPrompt: negative offset \(offset)")
        self.length = length; self.values = values; self.gradients = gradients; self.offset = offset
    }

    /// Whether both arenas hold P rows of C channels from `offset`.
    func fits(channels C: Int) -> Bool {
        offset + length * C <= values.count && (gradients.map { offset + length * C <= $0.count } ?? true)
    }
}
