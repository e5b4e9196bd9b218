/// The GPT-2 block (Radford et al. 2019) of `TransformerModel`: pre-LayerNorm, learned
/// positions, GELU MLP, biases everywhere.
///
///     x = x + o(attn(q(ln1(x)), k(ln1(x)), v(ln1(x))))
///     x = x + proj(gelu(fc(ln2(x))))
///
/// Forward and backward side by side; the model's entry points (`forward`, `backward`) choose
/// this file or `TransformerModel+LlamaBlock.swift` by `config.architecture`.
extension TransformerModel {
    /// The L blocks on resid[0] of `a`, [B, T, C], with `prefix` rows seen by every query.
    func gpt2BlocksForward(_ a: Activations, B: Int, T: Int, prefix: PrefixKV?) {
        let N = B * T
        let C = config.dModel, F = config.dFF, NH = config.heads
        let P = prefix?.length ?? 0, S = P + T
        for l in 0..<config.layers {
            let blk = blocks[l]
            let xC = l * N * C, xF = l * N * F, xN = l * N
            let input = a.resid.at(xC)
            LayerNorm.forward(out: a.ln1.at(xC), mean: a.ln1Mean.at(xN), rstd: a.ln1Rstd.at(xN),
                              x: input, weight: value(blk.ln1W), bias: value(blk.ln1B), N: N, C: C)
            linearForward(LinearSite(layer: l, kind: .q), x: a.ln1.at(xC), y: a.q.at(xC), M: N)
            linearForward(LinearSite(layer: l, kind: .k), x: a.ln1.at(xC), y: a.k.at(xC), M: N)
            linearForward(LinearSite(layer: l, kind: .v), x: a.ln1.at(xC), y: a.v.at(xC), M: N)
            let pk: UnsafePointer<Float>? = prefix.map { UnsafePointer($0.keys.at(l * $0.layerStride)) }
            let pv: UnsafePointer<Float>? = prefix.map { UnsafePointer($0.values.at(l * $0.layerStride)) }
            Attention.forward(out: a.attnY.at(xC), att: a.att.at(l * B * NH * T * S),
                              q: a.q.at(xC), k: a.k.at(xC), v: a.v.at(xC), prefixK: pk, prefixV: pv,
                              B: B, T: T, C: C, NH: NH, P: P)
            linearForward(LinearSite(layer: l, kind: .o), x: a.attnY.at(xC), y: a.attnO.at(xC), M: N)
            Residual.forward(out: a.residMid.at(xC), a: input, b: a.attnO.at(xC), N: N * C)
            LayerNorm.forward(out: a.ln2.at(xC), mean: a.ln2Mean.at(xN), rstd: a.ln2Rstd.at(xN),
                              x: a.residMid.at(xC), weight: value(blk.ln2W), bias: value(blk.ln2B), N: N, C: C)
            linearForward(LinearSite(layer: l, kind: .fc), x: a.ln2.at(xC), y: a.fcPre.at(xF), M: N)
            GELU.forward(out: a.fcAct.at(xF), gate: a.geluGate.at(xF), x: a.fcPre.at(xF), N: N * F)
            linearForward(LinearSite(layer: l, kind: .proj), x: a.fcAct.at(xF), y: a.mlpOut.at(xC), M: N)
            Residual.forward(out: a.resid.at(xC + N * C), a: a.residMid.at(xC), b: a.mlpOut.at(xC), N: N * C)
        }
    }

    /// Backpropagates dLoss/d resid[L] (in `a.dresid`) through the L blocks in place, leaving
    /// dLoss/d resid[0] there. `injecting`: extra gradients of every layer's keys and values
    /// ([L, NH, T, HS] in its gradient arenas) added to dk, dv — the soft-prompt pass's way of
    /// receiving what the main pass sent to its prompt keys/values. `inputGradient` false:
    /// block 0's q/k/v get no input gradient (their parameter gradients are still formed) and
    /// ln1's backward is skipped, so a.dresid then does not hold dLoss/d resid[0].
    func gpt2BlocksBackward(_ a: Activations, B: Int, T: Int, prefix: PrefixKV?, injecting: PrefixKV?, inputGradient: Bool) {
        let N = B * T
        let C = config.dModel, F = config.dFF, NH = config.heads, L = config.layers
        let P = prefix?.length ?? 0, S = P + T
        let g = a.dresid.pointer
        for l in stride(from: L - 1, through: 0, by: -1) {
            let blk = blocks[l]
            let xC = l * N * C, xF = l * N * F, xN = l * N
            // MLP half: resid[l+1] = residMid + proj(gelu(fc(ln2(residMid))))
            // Gradient buffers are overwritten, not zeroed then accumulated; `dfc` holds
            // d gelu(fc) and, after GELU's in-place backward, d fc.
            let dfc = a.dfc.pointer
            linearBackward(LinearSite(layer: l, kind: .proj), x: a.fcAct.at(xF), y: a.mlpOut.at(xC),
                           dy: g, dx: dfc, M: N, overwritingInput: true)
            GELU.backward(dx: dfc, dout: dfc, x: a.fcPre.at(xF), gate: a.geluGate.at(xF), N: N * F, accumulate: false)
            linearBackward(LinearSite(layer: l, kind: .fc), x: a.ln2.at(xC), y: a.fcPre.at(xF),
                           dy: dfc, dx: a.dln.pointer, M: N, overwritingInput: true)
            LayerNorm.backward(dx: g, dweight: grad(blk.ln2W), dbias: grad(blk.ln2B), dout: a.dln.pointer,
                               x: a.residMid.at(xC), weight: value(blk.ln2W), mean: a.ln2Mean.at(xN),
                               rstd: a.ln2Rstd.at(xN), N: N, C: C)
            // Attention half: residMid = resid[l] + o(attn(q, k, v of ln1(resid[l])))
            linearBackward(LinearSite(layer: l, kind: .o), x: a.attnY.at(xC), y: a.attnO.at(xC),
                           dy: g, dx: a.dattnY.pointer, M: N, overwritingInput: true)
            let trainPrefix = prefix?.requiresGrad ?? false
            let pk: UnsafePointer<Float>? = prefix.map { UnsafePointer($0.keys.at(l * $0.layerStride)) }
            let pv: UnsafePointer<Float>? = prefix.map { UnsafePointer($0.values.at(l * $0.layerStride)) }
            let dpk = trainPrefix ? prefix.map { $0.keyGradients.at(l * $0.layerStride) } : nil
            let dpv = trainPrefix ? prefix.map { $0.valueGradients.at(l * $0.layerStride) } : nil
            Attention.backward(dq: a.dq.pointer, dk: a.dk.pointer, dv: a.dv.pointer,
                               dprefixK: dpk ?? nil, dprefixV: dpv ?? nil, datt: a.datt.pointer,
                               dout: a.dattnY.pointer, att: a.att.at(l * B * NH * T * S),
                               q: a.q.at(xC), k: a.k.at(xC), v: a.v.at(xC), prefixK: pk, prefixV: pv,
                               B: B, T: T, C: C, NH: NH, P: P, accumulate: false)
            if let injecting { Self.addKeyValueGradients(injecting, layer: l, dk: a.dk.pointer, dv: a.dv.pointer) }
            let dln: UnsafeMutablePointer<Float>? = l > 0 || inputGradient ? a.dln.pointer : nil
            linearBackward(LinearSite(layer: l, kind: .q), x: a.ln1.at(xC), y: a.q.at(xC), dy: a.dq.pointer, dx: dln, M: N,
                           overwritingInput: true)
            linearBackward(LinearSite(layer: l, kind: .k), x: a.ln1.at(xC), y: a.k.at(xC), dy: a.dk.pointer, dx: dln, M: N)
            linearBackward(LinearSite(layer: l, kind: .v), x: a.ln1.at(xC), y: a.v.at(xC), dy: a.dv.pointer, dx: dln, M: N)
            if dln == nil { break }
            LayerNorm.backward(dx: g, dweight: grad(blk.ln1W), dbias: grad(blk.ln1B), dout: a.dln.pointer,
                               x: a.resid.at(xC), weight: value(blk.ln1W), mean: a.ln1Mean.at(xN),
                               rstd: a.ln1Rstd.at(xN), N: N, C: C)
        }
    }
}
