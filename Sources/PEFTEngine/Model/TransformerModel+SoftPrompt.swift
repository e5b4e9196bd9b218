/// The soft-prompt pass (PEFT seam d, prompt tuning).
///
/// Under causal attention the P prompt rows (positions 0..<P) attend only to each other,
/// so their activations are identical in every sequence of the batch, and the tokens
/// (positions P..<P+T) see them only through each layer's keys and values. The model
/// therefore runs the prompt rows once, as one sequence of P positions,
///
///     x₀[p] = prompt[p] + wpe[p],   blocks as usual  →  K_l, V_l [P, C] for every layer l,
///
/// and hands K_l, V_l (reshaped to [NH, P, HS]) to the main pass as its attention prefix.
/// LLaMA: the prompt rows have no position embedding; their keys are taken after RoPE at
/// positions 0..<P ([KV, P, HS] per layer), and the main pass rotates the tokens at P..<P+T.
/// Backward runs the other way: the main pass accumulates dK_l, dV_l summed over the batch
/// (the sum over sequences of identical sub-graphs is one sub-graph with summed upstream
/// gradient), and the prompt pass backpropagates them, added to its own dk, dv at layer l,
/// down to `prompt` (and to any base parameter that requires grad). The result equals the
/// plain B·(P + T)-position computation up to summation order (tested), at the cost of
/// P + B·T instead of B·(P + T) positions.
final class PromptPass {
    /// Caches of the one P-row sequence (maxB 1, maxT P, no prefix).
    let activations: Activations
    /// K_l, V_l per layer as the main pass's prefix, [L, NH, P, HS], with their gradients.
    let keysValues: PrefixKV

    init(config: ModelConfig, length P: Int) {
        activations = Activations(config: config, maxB: 1, maxT: P)
        keysValues = PrefixKV(config: config, length: P)
    }
}

extension TransformerModel {
    /// Runs the prompt rows through every block and fills `promptPass.keysValues`.
    func promptForward() {
        guard let softPrompt, let pass = promptPass else { return }
        let pa = pass.activations, kv = pass.keysValues
        let P = softPrompt.length, C = config.dModel, KV = kv.heads, HS = kv.headSize, width = KV * HS
        Embedding.forward(out: pa.resid.pointer, tokens: pa.tokens, prompt: softPrompt.values.at(softPrompt.offset),
                          wte: value(wte), wpe: optionalValue(wpe), B: 1, T: 0, P: P, C: C,
                          V: config.vocabSize)
        blocksForward(pa, B: 1, T: P, prefix: nil, positionOffset: 0)
        let keys = config.isLlama ? pa.kRot : pa.k
        for l in 0..<config.layers {
            for p in 0..<P {
                let k = keys.at((l * P + p) * width), v = pa.v.at((l * P + p) * width)
                for h in 0..<KV {
                    let at = l * kv.layerStride + (h * P + p) * HS
                    kv.keys.at(at).update(from: k + h * HS, count: HS)
                    kv.values.at(at).update(from: v + h * HS, count: HS)
                }
            }
        }
    }

    /// Backpropagates the key/value gradients the main pass left in `promptPass.keysValues`
    /// through the prompt rows, accumulating into the prompt's gradient (and wpe's, if trainable).
    func promptBackward() {
        guard let softPrompt, let pass = promptPass else { return }
        let pa = pass.activations, P = softPrompt.length, C = config.dModel
        pa.dresid.zero(0..<(P * C))
        blocksBackward(pa, B: 1, T: P, prefix: nil, positionOffset: 0, injecting: pass.keysValues)
        Embedding.backward(dprompt: softPrompt.gradients?.at(softPrompt.offset), dwte: nil, dwpe: grad(wpe),
                           dout: pa.dresid.pointer, tokens: pa.tokens, B: 1, T: 0, P: P, C: C)
    }

    /// `dk[p, h·HS + i] += kv.keyGradients[layer, h, p, i]` and the same for values; dk, dv:
    /// [P, KV·HS] (the key/value heads of `kv`).
    static func addKeyValueGradients(
        _ kv: PrefixKV, layer l: Int, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>
    ) {
        let P = kv.length, NH = kv.heads, HS = kv.headSize, C = NH * HS
        for p in 0..<P {
            for h in 0..<NH {
                let at = l * kv.layerStride + (h * P + p) * HS
                let gk = kv.keyGradients.at(at), gv = kv.valueGradients.at(at)
                let rk = dk + p * C + h * HS, rv = dv + p * C + h * HS
                for i in 0..<HS {
                    rk[i] += gk[i]
                    rv[i] += gv[i]
                }
            }
        }
    }
}
