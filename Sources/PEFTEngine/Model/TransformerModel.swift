/// Decoder-only, pre-LayerNorm transformer (GPT-2 layout) with hand-written forward and
/// backward passes:
///
///     x₀ = wte[tokens] + wpe[0..<T]
///     for each block l:  x = x + o(attn(q(ln1(x)), k(ln1(x)), v(ln1(x))))
///                        x = x + proj(gelu(fc(ln2(x))))
///     logits = ln_f(x) · lm_headᵀ;  loss = masked mean cross-entropy
///
/// `forward` caches activations; `backward` ACCUMULATES (+=) into `parameters.gradients`
/// (and the prefix's gradients) without allocating; callers zero gradients between steps
/// (`parameters.zeroGradients()`, done by `Trainer`). Weights whose `requiresGrad` is
/// false get no weight-gradient GEMM at all.
///
/// PEFT seams: (a) `linearHook` at every linear site; (b) per-view `requiresGrad`;
/// (c) `prefix` keys/values per layer; (d) `softPrompt`: P soft-prompt rows in front of
/// every sequence (positions 0..<P; the tokens take positions P..<P+T). The prompt rows
/// attend only to each other, so they are the same for every sequence: a separate pass over
/// the P rows (`TransformerModel+SoftPrompt.swift`) turns them into per-layer keys/values
/// that the main pass sees as a prefix — the same function as running B·(P+T) positions.
public final class TransformerModel {
    public let config: ModelConfig
    public let parameters: ParameterStore
    public let activations: Activations
    /// PEFT seam (a): substitution / extra path at every linear site.
    public var linearHook: (any LinearSiteHook)?
    /// PEFT seam (c): prefix keys/values; its length must be ≤ `activations.maxP`.
    public var prefix: PrefixKV? {
        didSet {
            if let prefix {
                precondition(prefix.length <= activations.maxP, "prefix length \(prefix.length) exceeds activation capacity maxP = \(activations.maxP)")
            }
        }
    }

    /// PEFT seam (d): soft-prompt rows in front of every sequence (see `SoftPrompt`). Needs
    /// P ≤ `activations.maxP` (its keys/values act as a prefix) and P + T ≤ the context
    /// length; not combinable with `prefix` or `linearHook` (checked by `forward`).
    public var softPrompt: SoftPrompt? {
        didSet {
            if let softPrompt {
                precondition(softPrompt.length <= activations.maxP, "soft prompt length \(softPrompt.length) exceeds activation capacity maxP = \(activations.maxP)")
                precondition(softPrompt.fits(channels: config.dModel), "soft prompt arenas hold fewer than \(softPrompt.length) rows of \(config.dModel)")
            }
            promptPass = softPrompt.map { PromptPass(config: config, length: $0.length) }
        }
    }
    /// Caches of the soft-prompt pass; present iff `softPrompt` is.
    var promptPass: PromptPass?

    /// (B, T) of the last forward; backward uses them.
    public private(set) var lastB = 0, lastT = 0
    /// Soft-prompt rows ahead of the tokens in the last forward (0 without a prompt).
    public private(set) var lastPromptLength = 0
    private var hasTargets = false
    let blocks: [BlockIndices]
    let wte: Int, wpe: Int
    private let lnfW: Int, lnfB: Int, lmHead: Int

    /// View indices of one block's parameters.
    struct BlockIndices {
        var ln1W, ln1B, ln2W, ln2B: Int
        /// Weight and bias view index per linear kind, in `LinearSite.Kind.allCases` order.
        var linearW: [Int], linearB: [Int]
    }

    /// Creates a model with zeroed parameters (call `parameters.initialize(seed:)` or load).
    public init(config: ModelConfig, maxB: Int, maxT: Int, maxP: Int = 0) {
        self.config = config
        parameters = ParameterStore(config: config)
        activations = Activations(config: config, maxB: maxB, maxT: maxT, maxP: maxP)
        let p = parameters
        blocks = (0..<config.layers).map { l in
            BlockIndices(
                ln1W: p.index(of: "blocks.\(l).ln1.weight"), ln1B: p.index(of: "blocks.\(l).ln1.bias"),
                ln2W: p.index(of: "blocks.\(l).ln2.weight"), ln2B: p.index(of: "blocks.\(l).ln2.bias"),
                linearW: LinearSite.Kind.allCases.map { p.index(of: LinearSite(layer: l, kind: $0).weightName) },
                linearB: LinearSite.Kind.allCases.map { p.index(of: LinearSite(layer: l, kind: $0).biasName) })
        }
        wte = p.index(of: "wte"); wpe = p.index(of: "wpe")
        lnfW = p.index(of: "ln_f.weight"); lnfB = p.index(of: "ln_f.bias"); lmHead = p.index(of: "lm_head.weight")
    }

    // MARK: Parameter pointers

    @inline(__always) func value(_ view: Int) -> UnsafeMutablePointer<Float> {
        parameters.values.at(parameters.views[view].offset)
    }

    /// Gradient pointer of a view, or nil when it is frozen.
    @inline(__always) func grad(_ view: Int) -> UnsafeMutablePointer<Float>? {
        parameters.requiresGrad[view] ? parameters.gradients.at(parameters.views[view].offset) : nil
    }

    private func kindIndex(_ kind: LinearSite.Kind) -> Int {
        switch kind {
        case .q: 0
        case .k: 1
        case .v: 2
        case .o: 3
        case .fc: 4
        case .proj: 5
        }
    }

    // MARK: Linear sites (seam a)

    /// The one forward path of every linear site: `y = x·W_effᵀ + b_eff`, then the hook.
    /// - x: [M, in], y: [M, out]
    func linearForward(_ site: LinearSite, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, M: Int) {
        let (IC, OC) = site.features(config)
        let b = blocks[site.layer], kind = kindIndex(site.kind)
        let weight = linearHook?.effectiveWeight(for: site) ?? UnsafePointer(value(b.linearW[kind]))
        let bias = linearHook?.effectiveBias(for: site) ?? UnsafePointer(value(b.linearB[kind]))
        Linear.forward(out: y, x: x, weight: weight, bias: bias, M: M, IC: IC, OC: OC)
        linearHook?.forward(site: site, x: x, y: y, rows: M)
    }

    /// The one backward path of every linear site: hook first (it may replace dy by the
    /// gradient of the base output), then `dx += dy_base·W_eff` (unless the hook
    /// `handlesInputGradient` there and has added it itself),
    /// and the stored weight/bias gradients only where they require grad.
    /// `overwritingInput`: dx holds nothing yet. Unless the hook may add into dx at this site
    /// (`accumulatesInputGradient`/`handlesInputGradient`, then dx is zeroed first), the base
    /// sgemm overwrites it (beta = 0): no zeroing pass, no read of the old dx.
    /// dx nil: nothing needs the input gradient here; only parameter gradients are formed.
    /// - x: [M, in] (forward input), y: [M, out] (forward output), dy: [M, out], dx: [M, in]
    func linearBackward(
        _ site: LinearSite, x: UnsafePointer<Float>, y: UnsafePointer<Float>,
        dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, M: Int, overwritingInput: Bool = false
    ) {
        let (IC, OC) = site.features(config)
        let b = blocks[site.layer], kind = kindIndex(site.kind)
        let hookHandlesDx = linearHook?.handlesInputGradient(for: site) ?? false
        var overwrite = overwritingInput
        if overwrite, let dx, let hook = linearHook, hookHandlesDx || hook.accumulatesInputGradient(for: site) {
            dx.update(repeating: 0, count: M * IC)
            overwrite = false
        }
        let dyBase = linearHook?.backward(site: site, x: x, y: y, dy: dy, dx: dx, rows: M) ?? dy
        let weight = linearHook?.effectiveWeight(for: site) ?? UnsafePointer(value(b.linearW[kind]))
        Linear.backward(
            dx: hookHandlesDx ? nil : dx, dweight: grad(b.linearW[kind]), dbias: grad(b.linearB[kind]),
            dout: dyBase, x: x, weight: weight, M: M, IC: IC, OC: OC, accumulateInput: !overwrite)
    }

    // MARK: Forward

    /// Runs the model on `tokens` [B, T] and, when `targets` and `mask` [B, T] are given,
    /// returns the masked mean cross-entropy (0 otherwise). Logits stay in `activations`.
    @discardableResult
    public func forward(tokens: [Int32], targets: [Int32]? = nil, mask: [Float]? = nil, B: Int, T: Int) -> Float {
        precondition(B >= 1 && B <= activations.maxB, "forward: B = \(B) outside 1...\(activations.maxB)")
        precondition(T >= 1 && T <= activations.maxT, "forward: T = \(T) outside 1...\(activations.maxT)")
        let N = B * T
        precondition(tokens.count == N, "forward: tokens has \(tokens.count) entries, B·T = \(N)")
        let promptLength = softPrompt?.length ?? 0
        if promptLength > 0 {
            precondition(promptLength + T <= config.contextLength, "forward: soft prompt P = \(promptLength) + T = \(T) exceeds context length \(config.contextLength)")
            precondition(prefix == nil && linearHook == nil, "forward: a soft prompt cannot be combined with a prefix or a linear hook")
        }
        let a = activations
        tokens.withUnsafeBufferPointer { a.tokens.update(from: $0.baseAddress!, count: N) }
        hasTargets = targets != nil
        if let targets {
            precondition(targets.count == N, "forward: targets has \(targets.count) entries, B·T = \(N)")
            targets.withUnsafeBufferPointer { a.targets.update(from: $0.baseAddress!, count: N) }
            if let mask {
                precondition(mask.count == N, "forward: mask has \(mask.count) entries, B·T = \(N)")
                mask.withUnsafeBufferPointer { a.mask.pointer.update(from: $0.baseAddress!, count: N) }
            } else {
                a.mask.pointer.update(repeating: 1, count: N)
            }
        }
        lastB = B; lastT = T; lastPromptLength = promptLength
        return forwardCached()
    }

    /// Forward over the inputs already in `activations` (lastB, lastT, lastPromptLength).
    private func forwardCached() -> Float {
        let a = activations, B = lastB, T = lastT, N = B * T
        let C = config.dModel, V = config.vocabSize
        // Soft-prompt rows hold positions 0..<Q and reach the tokens as a prefix.
        let Q = lastPromptLength
        if Q > 0 { promptForward() }
        Embedding.forward(out: a.resid.pointer, tokens: a.tokens, wte: value(wte), wpe: value(wpe) + Q * C, B: B, T: T, C: C, V: V)
        blocksForward(a, B: B, T: T, prefix: Q > 0 ? promptPass?.keysValues : prefix)
        let final = a.resid.at(config.layers * N * C)
        LayerNorm.forward(out: a.lnf.pointer, mean: a.lnfMean.pointer, rstd: a.lnfRstd.pointer,
                          x: final, weight: value(lnfW), bias: value(lnfB), N: N, C: C)
        Linear.forward(out: a.logits.pointer, x: a.lnf.pointer, weight: value(lmHead), bias: nil, M: N, IC: C, OC: V)
        guard hasTargets else { return 0 }
        return CrossEntropy.forward(probs: a.probs.pointer, losses: a.losses.pointer, logits: a.logits.pointer,
                                    targets: a.targets, mask: a.mask.pointer, N: N, V: V)
    }

    /// The L blocks on resid[0] of `a`, [B, T, C], with `prefix` rows seen by every query.
    func blocksForward(_ a: Activations, B: Int, T: Int, prefix: PrefixKV?) {
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

    // MARK: Backward

    /// Backpropagates the loss of the last forward (which must have had targets),
    /// accumulating into the gradients of trainable parameters and of the prefix.
    public func backward() {
        precondition(hasTargets, "backward: the last forward had no targets")
        let a = activations, B = lastB, T = lastT, N = B * T
        let C = config.dModel, V = config.vocabSize, L = config.layers
        let g = a.dresid.pointer

        a.dlogits.zero(0..<(N * V))
        CrossEntropy.backward(dlogits: a.dlogits.pointer, probs: a.probs.pointer, targets: a.targets,
                              mask: a.mask.pointer, dloss: 1, N: N, V: V)
        Linear.backward(dx: a.dln.pointer, dweight: grad(lmHead), dbias: nil, dout: a.dlogits.pointer,
                        x: a.lnf.pointer, weight: value(lmHead), M: N, IC: C, OC: V, accumulateInput: false)
        a.dresid.zero(0..<(N * C))
        LayerNorm.backward(dx: g, dweight: grad(lnfW), dbias: grad(lnfB), dout: a.dln.pointer,
                           x: a.resid.at(L * N * C), weight: value(lnfW), mean: a.lnfMean.pointer,
                           rstd: a.lnfRstd.pointer, N: N, C: C)
        // g now holds dLoss/d resid[L]; each block turns dLoss/d resid[l+1] into dLoss/d resid[l] in place.
        let Q = lastPromptLength
        let attnPrefix = Q > 0 ? promptPass?.keysValues : prefix
        if Q > 0 { promptPass?.keysValues.keyGradients.zeroAll(); promptPass?.keysValues.valueGradients.zeroAll() }
        let inputGradient = needsInputGradient
        blocksBackward(a, B: B, T: T, prefix: attnPrefix, injecting: nil, inputGradient: inputGradient)
        if inputGradient {
            Embedding.backward(dwte: grad(wte), dwpe: grad(wpe).map { $0 + Q * C }, dout: g, tokens: a.tokens, B: B, T: T, C: C)
        }
        if Q > 0 { promptBackward() }
    }

    /// Whether anything below block 0's q, k, v needs a gradient: the embeddings or block 0's
    /// ln1. When nothing does (every PEFT method but full fine-tuning and BitFit: frozen
    /// base below the first trained site), backward forms only block 0's q/k/v parameter
    /// gradients there and skips their input-gradient GEMMs, ln1's backward and the
    /// embeddings' (autograd skips them the same way: nothing there requires grad).
    var needsInputGradient: Bool {
        if grad(wte) != nil || grad(wpe) != nil { return true }
        let b = blocks[0], trains = parameters.requiresGrad
        return trains[b.ln1W] || trains[b.ln1B]
    }

    /// Backpropagates dLoss/d resid[L] (in `a.dresid`) through the L blocks in place, leaving
    /// dLoss/d resid[0] there. `injecting`: extra gradients of every layer's keys and values
    /// ([L, NH, T, HS] in its gradient arenas) added to dk, dv — the soft-prompt pass's way of
    /// receiving what the main pass sent to its prompt keys/values. `inputGradient` false:
    /// block 0's q/k/v get no input gradient (their parameter gradients are still formed) and
    /// ln1's backward is skipped, so a.dresid then does not hold dLoss/d resid[0].
    func blocksBackward(_ a: Activations, B: Int, T: Int, prefix: PrefixKV?, injecting: PrefixKV?, inputGradient: Bool = true) {
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
            if let injecting { Self.addKeyValueGradients(injecting, layer: l, dk: a.dk.pointer, dv: a.dv.pointer, C: C) }
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

    // MARK: Outputs

    /// Logits of the last forward, [B, T, V] (a copy).
    public func logits() -> Tensor {
        let N = lastB * lastT, V = config.vocabSize
        return Tensor(shape: [lastB, lastT, V], storage: activations.logits.copy(0..<(N * V)))
    }

    /// Per-position argmax of the last forward's logits, [B·T] (first maximum wins).
    public func argmaxPredictions() -> [Int32] {
        let N = lastB * lastT, V = config.vocabSize
        let z = activations.logits.pointer
        var out = [Int32](repeating: 0, count: N)
        for n in 0..<N {
            var best = 0
            for i in 1..<V where z[n * V + i] > z[n * V + best] { best = i }
            out[n] = Int32(best)
        }
        return out
    }
}
