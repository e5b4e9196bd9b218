/// Per-layer prefix keys and values for prefix tuning (Li & Liang 2021): P extra
/// key/value rows per layer and head, seen by every query before the causal part.
///
/// Layout: `keys`, `values` are [L, KV, P, HS] (KV = the model's key/value heads, NH
/// without grouped-query attention, as peft sizes past_key_values); `keyGradients`,
/// `valueGradients` mirror them. LLaMA's prefix keys are used as given (no RoPE), as
/// transformers treats cached keys, and the tokens then take positions P..<P+T. The reparameterisation MLP of the paper, if any, lives in the method that
/// owns this object; the model only reads the rows and accumulates their gradients.
public final class PrefixKV {
    /// `heads`: key/value heads (KV).
    public let layers: Int, heads: Int, length: Int, headSize: Int
    public let keys: FloatArena
    public let values: FloatArena
    public let keyGradients: FloatArena
    public let valueGradients: FloatArena
    /// Whether backward accumulates prefix gradients.
    public var requiresGrad = true

    public init(config: ModelConfig, length P: Int) {
        precondition(P >= 1, "PrefixKV: length must be ≥ 1, got \(P)")
        layers = config.layers; heads = config.kvHeads; length = P; headSize = config.headSize
        let n = layers * heads * P * headSize
        keys = FloatArena(count: n)
        values = FloatArena(count: n)
        keyGradients = FloatArena(count: n)
        valueGradients = FloatArena(count: n)
    }

    /// Elements per layer, NH·P·HS.
    public var layerStride: Int { heads * length * headSize }
}
