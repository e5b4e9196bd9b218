/// The LLaMA block (Touvron et al. 2023; transformers' `LlamaDecoderLayer`) of
/// `TransformerModel`: RMSNorm, rotary positions on q and k, grouped-query attention, SwiGLU
/// MLP, no biases.
///
///     h = x + o(attn(RoPE(q(n1(x))), RoPE(k(n1(x))), v(n1(x))))      n = RMSNorm
///     x' = h + down(SiLU(gate(n2(h))) ⊙ up(n2(h)))
///
/// Keys and values have KV ≤ NH heads; `RepeatKV` copies each to its NH/KV query heads before
/// the shared attention kernel and sums the gradients back. Prefix rows (prefix tuning, or the
/// soft prompt's keys) come as [KV, P, HS] per layer, already in rotated space, and the
/// tokens then take positions P..<P+T (transformers numbers them after its cache).
///
/// Forward and backward side by side; each linear layer goes through the model's site seam.
extension TransformerModel {
    /// Forward of the L LLaMA blocks on resid[0] of `a`; tokens at positions
    /// `positionOffset`..<`positionOffset` + T.
    func llamaBlocksForward(_ a: Activations, B: Int, T: Int, prefix: PrefixKV?, positionOffset: Int) {
        let N = B * T, C = config.dModel, F = config.dFF, NH = config.heads, KV = config.kvHeads
        let HS = config.headSize, KVC = config.kvChannels, eps = config.rmsNormEpsilon
        let P = prefix?.length ?? 0, S = P + T
        let rope = self.rope!
        for l in 0..<config.layers {
            let blk = blocks[l]
            let xC = l * N * C, xKV = l * N * KVC, xF = l * N * F, xN = l * N
            let input = a.resid.at(xC)
            // Attention half.
            RMSNorm.forward(out: a.ln1.at(xC), rstd: a.ln1Rstd.at(xN), x: input, weight: value(blk.ln1W), N: N, C: C, epsilon: eps)
            linearForward(LinearSite(layer: l, kind: .q), x: a.ln1.at(xC), y: a.q.at(xC), M: N)
            linearForward(LinearSite(layer: l, kind: .k), x: a.ln1.at(xC), y: a.k.at(xKV), M: N)
            linearForward(LinearSite(layer: l, kind: .v), x: a.ln1.at(xC), y: a.v.at(xKV), M: N)
            rope.forward(out: a.qRot.at(xC), x: a.q.at(xC), rows: N, T: T, heads: NH, offset: positionOffset)
            rope.forward(out: a.kRot.at(xKV), x: a.k.at(xKV), rows: N, T: T, heads: KV, offset: positionOffset)
            RepeatKV.forward(out: a.kFull.pointer, x: a.kRot.at(xKV), rows: N, kvHeads: KV, heads: NH, headDim: HS)
            RepeatKV.forward(out: a.vFull.pointer, x: a.v.at(xKV), rows: N, kvHeads: KV, heads: NH, headDim: HS)
            let (pk, pv) = expandedPrefix(prefix, layer: l)
            Attention.forward(out: a.attnY.at(xC), att: a.att.at(l * B * NH * T * S),
                              q: a.qRot.at(xC), k: a.kFull.pointer, v: a.vFull.pointer, prefixK: pk, prefixV: pv,
                              B: B, T: T, C: C, NH: NH, P: P)
            linearForward(LinearSite(layer: l, kind: .o), x: a.attnY.at(xC), y: a.attnO.at(xC), M: N)
            Residual.forward(out: a.residMid.at(xC), a: input, b: a.attnO.at(xC), N: N * C)
            // MLP half.
            RMSNorm.forward(out: a.ln2.at(xC), rstd: a.ln2Rstd.at(xN), x: a.residMid.at(xC), weight: value(blk.ln2W),
                            N: N, C: C, epsilon: eps)
            linearForward(LinearSite(layer: l, kind: .gate), x: a.ln2.at(xC), y: a.fcPre.at(xF), M: N)
            linearForward(LinearSite(layer: l, kind: .up), x: a.ln2.at(xC), y: a.up.at(xF), M: N)
            SwiGLU.forward(out: a.fcAct.at(xF), gate: a.fcPre.at(xF), up: a.up.at(xF), N: N * F)
            linearForward(LinearSite(layer: l, kind: .down), x: a.fcAct.at(xF), y: a.mlpOut.at(xC), M: N)
            Residual.forward(out: a.resid.at(xC + N * C), a: a.residMid.at(xC), b: a.mlpOut.at(xC), N: N * C)
        }
    }

    /// Backpropagates dLoss/d resid[L] (in `a.dresid`) through the L LLaMA blocks in place,
    /// leaving dLoss/d resid[0] there. `injecting`: gradients of every layer's rotated keys and
    /// values ([L, KV, T, HS]) added where the soft-prompt pass's keys feed the main pass.
    /// `inputGradient` false: block 0's q/k/v get no input gradient and its RMSNorm no backward.
    func llamaBlocksBackward(_ a: Activations, B: Int, T: Int, prefix: PrefixKV?, positionOffset: Int, injecting: PrefixKV?,
                             inputGradient: Bool) {
        let N = B * T, C = config.dModel, F = config.dFF, NH = config.heads, KV = config.kvHeads
        let HS = config.headSize, KVC = config.kvChannels, L = config.layers
        let P = prefix?.length ?? 0, S = P + T
        let rope = self.rope!
        let g = a.dresid.pointer
        for l in stride(from: L - 1, through: 0, by: -1) {
            let blk = blocks[l]
            let xC = l * N * C, xKV = l * N * KVC, xF = l * N * F, xN = l * N
            // MLP half: resid[l+1] = residMid + down(SiLU(gate) ⊙ up). dfc holds d hidden, then d gate.
            let dfc = a.dfc.pointer
            linearBackward(LinearSite(layer: l, kind: .down), x: a.fcAct.at(xF), y: a.mlpOut.at(xC),
                           dy: g, dx: dfc, M: N, overwritingInput: true)
            SwiGLU.backward(dgate: dfc, dup: a.dup.pointer, dout: dfc, gate: a.fcPre.at(xF), up: a.up.at(xF), N: N * F,
                            accumulate: false)
            linearBackward(LinearSite(layer: l, kind: .gate), x: a.ln2.at(xC), y: a.fcPre.at(xF),
                           dy: dfc, dx: a.dln.pointer, M: N, overwritingInput: true)
            linearBackward(LinearSite(layer: l, kind: .up), x: a.ln2.at(xC), y: a.up.at(xF),
                           dy: a.dup.pointer, dx: a.dln.pointer, M: N)
            RMSNorm.backward(dx: g, dweight: grad(blk.ln2W), dout: a.dln.pointer, x: a.residMid.at(xC),
                             weight: value(blk.ln2W), rstd: a.ln2Rstd.at(xN), N: N, C: C)
            // Attention half: residMid = resid[l] + o(attn(RoPE(q), RoPE(k), v)).
            linearBackward(LinearSite(layer: l, kind: .o), x: a.attnY.at(xC), y: a.attnO.at(xC),
                           dy: g, dx: a.dattnY.pointer, M: N, overwritingInput: true)
            RepeatKV.forward(out: a.kFull.pointer, x: a.kRot.at(xKV), rows: N, kvHeads: KV, heads: NH, headDim: HS)
            RepeatKV.forward(out: a.vFull.pointer, x: a.v.at(xKV), rows: N, kvHeads: KV, heads: NH, headDim: HS)
            let (pk, pv) = expandedPrefix(prefix, layer: l)
            let trainPrefix = prefix?.requiresGrad ?? false
            let dprefix = trainPrefix ? a.dprefixFull.pointer : nil
            if trainPrefix { a.dprefixFull.zero(0..<(2 * NH * P * HS)) }
            Attention.backward(dq: a.dq.pointer, dk: a.dk.pointer, dv: a.dv.pointer,
                               dprefixK: dprefix, dprefixV: dprefix.map { $0 + NH * P * HS }, datt: a.datt.pointer,
                               dout: a.dattnY.pointer, att: a.att.at(l * B * NH * T * S),
                               q: a.qRot.at(xC), k: a.kFull.pointer, v: a.vFull.pointer, prefixK: pk, prefixV: pv,
                               B: B, T: T, C: C, NH: NH, P: P, accumulate: false)
            if let prefix, trainPrefix { sumPrefixGradients(into: prefix, layer: l) }
            // Sum each key/value head's group: d RoPE(k) and d v, [N, KVC].
            a.dkShared.zero(0..<(N * KVC)); a.dvShared.zero(0..<(N * KVC))
            RepeatKV.backward(dx: a.dkShared.pointer, dout: a.dk.pointer, rows: N, kvHeads: KV, heads: NH, headDim: HS)
            RepeatKV.backward(dx: a.dvShared.pointer, dout: a.dv.pointer, rows: N, kvHeads: KV, heads: NH, headDim: HS)
            if let injecting { Self.addKeyValueGradients(injecting, layer: l, dk: a.dkShared.pointer, dv: a.dvShared.pointer) }
            // Rotate back: dattnY (free now) takes d q, dk's first N·KVC floats d k.
            let dqSite = a.dattnY.pointer, dkSite = a.dk.pointer
            rope.backward(dx: dqSite, dout: a.dq.pointer, rows: N, T: T, heads: NH, offset: positionOffset, accumulate: false)
            rope.backward(dx: dkSite, dout: a.dkShared.pointer, rows: N, T: T, heads: KV, offset: positionOffset, accumulate: false)
            let dln: UnsafeMutablePointer<Float>? = l > 0 || inputGradient ? a.dln.pointer : nil
            linearBackward(LinearSite(layer: l, kind: .q), x: a.ln1.at(xC), y: a.q.at(xC), dy: dqSite, dx: dln, M: N,
                           overwritingInput: true)
            linearBackward(LinearSite(layer: l, kind: .k), x: a.ln1.at(xC), y: a.k.at(xKV), dy: dkSite, dx: dln, M: N)
            linearBackward(LinearSite(layer: l, kind: .v), x: a.ln1.at(xC), y: a.v.at(xKV), dy: a.dvShared.pointer, dx: dln, M: N)
            if dln == nil { break }
            RMSNorm.backward(dx: g, dweight: grad(blk.ln1W), dout: a.dln.pointer, x: a.resid.at(xC),
                             weight: value(blk.ln1W), rstd: a.ln1Rstd.at(xN), N: N, C: C)
        }
    }

    /// The layer's prefix keys and values as [NH, P, HS] for the attention kernel: `prefix`'s own
    /// rows without grouped-query attention, else repeated into `activations.prefixFull`.
    private func expandedPrefix(_ prefix: PrefixKV?, layer l: Int) -> (UnsafePointer<Float>?, UnsafePointer<Float>?) {
        guard let prefix else { return (nil, nil) }
        let keys = prefix.keys.at(l * prefix.layerStride), values = prefix.values.at(l * prefix.layerStride)
        let NH = config.heads, KV = prefix.heads, block = prefix.length * prefix.headSize
        guard KV != NH else { return (UnsafePointer(keys), UnsafePointer(values)) }
        let full = activations.prefixFull.pointer
        RepeatKV.forward(out: full, x: keys, rows: 1, kvHeads: KV, heads: NH, headDim: block)
        RepeatKV.forward(out: full + NH * block, x: values, rows: 1, kvHeads: KV, heads: NH, headDim: block)
        return (UnsafePointer(full), UnsafePointer(full + NH * block))
    }

    /// Adds the [2, NH, P, HS] prefix gradients of `activations.dprefixFull` into `prefix`'s
    /// [KV, P, HS] gradients of `layer`, each key/value head summing its group.
    private func sumPrefixGradients(into prefix: PrefixKV, layer l: Int) {
        let NH = config.heads, KV = prefix.heads, block = prefix.length * prefix.headSize
        let full = activations.dprefixFull.pointer
        RepeatKV.backward(dx: prefix.keyGradients.at(l * prefix.layerStride), dout: full, rows: 1, kvHeads: KV, heads: NH,
                          headDim: block)
        RepeatKV.backward(dx: prefix.valueGradients.at(l * prefix.layerStride), dout: full + NH * block, rows: 1, kvHeads: KV,
                          heads: NH, headDim: block)
    }
}
