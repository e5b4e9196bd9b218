/// Decoder-only, pre-norm transformer with hand-written forward and backward passes, built
/// from the GPT-2 block or the LLaMA block (`config.architecture`):
///
///     x₀ = wte[tokens] (+ wpe[0..<T] for GPT-2)
///     for each block l:  x = x + o(attn(q(n1(x)), k(n1(x)), v(n1(x))))
///                        x = x + mlp(n2(x))
///     logits = n_f(x) · headᵀ;  loss = masked mean cross-entropy
///
/// GPT-2: n = LayerNorm, mlp = proj(gelu(fc(·))), head = lm_head
/// (`TransformerModel+GPT2Block.swift`). LLaMA: n = RMSNorm, RoPE on q and k, grouped-query
/// attention, mlp = down(SiLU(gate(·)) ⊙ up(·)), head = wte when tied
/// (`TransformerModel+LlamaBlock.swift`).
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
    /// View indices of the token embedding, the position embedding (GPT-2; −1 for LLaMA), the
    /// final norm's gain and shift (−1 for LLaMA), and the output head (`wte` when tied).
    let wte: Int, wpe: Int
    let lnfW: Int, lnfB: Int, lmHead: Int
    /// LLaMA's rotary table for positions 0..<contextLength; nil for GPT-2.
    let rope: RotaryEmbedding?

    /// View indices of one block's parameters; −1 where the block has none (LLaMA's norm
    /// shifts and biases).
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
        func index(_ name: String) -> Int { p.contains(name) ? p.index(of: name) : -1 }
        blocks = (0..<config.layers).map { l in
            BlockIndices(
                ln1W: index("blocks.\(l).ln1.weight"), ln1B: index("blocks.\(l).ln1.bias"),
                ln2W: index("blocks.\(l).ln2.weight"), ln2B: index("blocks.\(l).ln2.bias"),
                linearW: LinearSite.Kind.allCases.map { index(LinearSite(layer: l, kind: $0).weightName) },
                linearB: LinearSite.Kind.allCases.map { index(LinearSite(layer: l, kind: $0).biasName) })
        }
        wte = index("wte"); wpe = index("wpe")
        lnfW = index("ln_f.weight"); lnfB = index("ln_f.bias")
        lmHead = config.tiedEmbeddings ? wte : index("lm_head.weight")
        // Prefix rows sit before the tokens (positions P…P + T − 1, as transformers numbers tokens
        // after a cache), so the table covers the context plus the largest prefix.
        rope = config.isLlama
            ? RotaryEmbedding(headDim: config.headSize, maxPositions: config.contextLength + maxP, base: config.ropeTheta) : nil
    }

    // MARK: Parameter pointers

    @inline(__always) func value(_ view: Int) -> UnsafeMutablePointer<Float> {
        parameters.values.at(parameters.views[view].offset)
    }

    /// Gradient pointer of a view, or nil when it is frozen or absent (−1).
    @inline(__always) func grad(_ view: Int) -> UnsafeMutablePointer<Float>? {
        view >= 0 && parameters.requiresGrad[view] ? parameters.gradients.at(parameters.views[view].offset) : nil
    }

    /// Value pointer of a view, or nil when the model has none (−1: LLaMA's biases, `wpe`).
    @inline(__always) func optionalValue(_ view: Int) -> UnsafePointer<Float>? {
        view >= 0 ? UnsafePointer(value(view)) : nil
    }

    @inline(__always) private func kindIndex(_ kind: LinearSite.Kind) -> Int {
        switch kind {
        case .q: 0
        case .k: 1
        case .v: 2
        case .o: 3
        case .fc: 4
        case .proj: 5
        case .gate: 6
        case .up: 7
        case .down: 8
        }
    }

    // MARK: Linear sites (seam a)

    /// The one forward path of every linear site: `y = x·W_effᵀ + b_eff`, then the hook.
    /// - x: [M, in], y: [M, out]
    func linearForward(_ site: LinearSite, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, M: Int) {
        let (IC, OC) = site.features(config)
        let b = blocks[site.layer], kind = kindIndex(site.kind)
        let weight = linearHook?.effectiveWeight(for: site) ?? UnsafePointer(value(b.linearW[kind]))
        let bias = linearHook?.effectiveBias(for: site) ?? optionalValue(b.linearB[kind])
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
        let attnPrefix = Q > 0 ? promptPass?.keysValues : prefix
        let final = a.resid.at(config.layers * N * C)
        if config.isLlama {
            Embedding.forward(out: a.resid.pointer, tokens: a.tokens, wte: value(wte), wpe: nil, B: B, T: T, C: C, V: V)
            llamaBlocksForward(a, B: B, T: T, prefix: attnPrefix, positionOffset: attnPrefix?.length ?? 0)
            RMSNorm.forward(out: a.lnf.pointer, rstd: a.lnfRstd.pointer, x: final, weight: value(lnfW), N: N, C: C,
                            epsilon: config.rmsNormEpsilon)
        } else {
            Embedding.forward(out: a.resid.pointer, tokens: a.tokens, wte: value(wte), wpe: value(wpe) + Q * C, B: B, T: T, C: C, V: V)
            gpt2BlocksForward(a, B: B, T: T, prefix: attnPrefix)
            LayerNorm.forward(out: a.lnf.pointer, mean: a.lnfMean.pointer, rstd: a.lnfRstd.pointer,
                              x: final, weight: value(lnfW), bias: value(lnfB), N: N, C: C)
        }
        Linear.forward(out: a.logits.pointer, x: a.lnf.pointer, weight: value(lmHead), bias: nil, M: N, IC: C, OC: V)
        guard hasTargets else { return 0 }
        if config.isLlama {
            return CrossEntropy.forwardKeepingLogits(losses: a.losses.pointer, logits: a.logits.pointer,
                                                     targets: a.targets, mask: a.mask.pointer, N: N, V: V)
        }
        return CrossEntropy.forward(probs: a.probs.pointer, losses: a.losses.pointer, logits: a.logits.pointer,
                                    targets: a.targets, mask: a.mask.pointer, N: N, V: V)
    }

    /// The L blocks of the configured architecture on resid[0] of `a`, [B, T, C], with
    /// `prefix` rows seen by every query; LLaMA's tokens take positions `positionOffset`… .
    func blocksForward(_ a: Activations, B: Int, T: Int, prefix: PrefixKV?, positionOffset: Int) {
        if config.isLlama {
            llamaBlocksForward(a, B: B, T: T, prefix: prefix, positionOffset: positionOffset)
        } else {
            gpt2BlocksForward(a, B: B, T: T, prefix: prefix)
        }
    }

    /// Backward of `blocksForward` (see `gpt2BlocksBackward` and `llamaBlocksBackward`).
    func blocksBackward(_ a: Activations, B: Int, T: Int, prefix: PrefixKV?, positionOffset: Int, injecting: PrefixKV?,
                        inputGradient: Bool = true) {
        if config.isLlama {
            llamaBlocksBackward(a, B: B, T: T, prefix: prefix, positionOffset: positionOffset, injecting: injecting,
                                inputGradient: inputGradient)
        } else {
            gpt2BlocksBackward(a, B: B, T: T, prefix: prefix, injecting: injecting, inputGradient: inputGradient)
        }
    }

    // MARK: Backward

    /// Backpropagates the loss of the last forward (which must have had targets),
    /// accumulating into the gradients of trainable parameters and of the prefix.
    /// LLaMA: the logits buffer becomes their gradient (`logits()` is valid only before).
    public func backward() {
        precondition(hasTargets, "backward: the last forward had no targets")
        let a = activations, B = lastB, T = lastT, N = B * T
        let C = config.dModel, V = config.vocabSize, L = config.layers
        let g = a.dresid.pointer
        let final = a.resid.at(L * N * C)
        if config.isLlama {
            CrossEntropy.backwardInPlace(logits: a.logits.pointer, targets: a.targets, mask: a.mask.pointer, dloss: 1, N: N, V: V)
            Linear.backward(dx: a.dln.pointer, dweight: grad(lmHead), dbias: nil, dout: a.logits.pointer,
                            x: a.lnf.pointer, weight: value(lmHead), M: N, IC: C, OC: V, accumulateInput: false)
            a.dresid.zero(0..<(N * C))
            RMSNorm.backward(dx: g, dweight: grad(lnfW), dout: a.dln.pointer, x: final, weight: value(lnfW),
                             rstd: a.lnfRstd.pointer, N: N, C: C)
        } else {
            a.dlogits.zero(0..<(N * V))
            CrossEntropy.backward(dlogits: a.dlogits.pointer, probs: a.probs.pointer, targets: a.targets,
                                  mask: a.mask.pointer, dloss: 1, N: N, V: V)
            Linear.backward(dx: a.dln.pointer, dweight: grad(lmHead), dbias: nil, dout: a.dlogits.pointer,
                            x: a.lnf.pointer, weight: value(lmHead), M: N, IC: C, OC: V, accumulateInput: false)
            a.dresid.zero(0..<(N * C))
            LayerNorm.backward(dx: g, dweight: grad(lnfW), dbias: grad(lnfB), dout: a.dln.pointer,
                               x: final, weight: value(lnfW), mean: a.lnfMean.pointer,
                               rstd: a.lnfRstd.pointer, N: N, C: C)
        }
        // g now holds dLoss/d resid[L]; each block turns dLoss/d resid[l+1] into dLoss/d resid[l] in place.
        let Q = lastPromptLength
        let attnPrefix = Q > 0 ? promptPass?.keysValues : prefix
        if Q > 0 { promptPass?.keysValues.keyGradients.zeroAll(); promptPass?.keysValues.valueGradients.zeroAll() }
        let inputGradient = needsInputGradient
        blocksBackward(a, B: B, T: T, prefix: attnPrefix, positionOffset: attnPrefix?.length ?? 0, injecting: nil,
                       inputGradient: inputGradient)
        if inputGradient {
            Embedding.backward(dwte: grad(wte), dwpe: grad(wpe).map { $0 + Q * C }, dout: g, tokens: a.tokens, B: B, T: T, C: C)
        }
        if Q > 0 { promptBackward() }
    }

    /// Whether anything below block 0's q, k, v needs a gradient: the embeddings or block 0's
    /// first norm. When nothing does (every PEFT method but full fine-tuning, BitFit and LN
    /// tuning: frozen base below the first trained site), backward forms only block 0's q/k/v
    /// parameter gradients there and skips their input-gradient GEMMs, the norm's backward and
    /// the embeddings' (autograd skips them the same way: nothing there requires grad).
    var needsInputGradient: Bool {
        if grad(wte) != nil || grad(wpe) != nil { return true }
        let b = blocks[0]
        return grad(b.ln1W) != nil || grad(b.ln1B) != nil
    }

    // MARK: Outputs

    /// Logits of the last forward, [B, T, V] (a copy).
    public func logits() -> Tensor {
        let N = lastB * lastT, V = config.vocabSize
        return Tensor(shape: [lastB, lastT, V], storage: activations.logits.copy(0..<(N * V)))
    }

    /// The last forward's logits [B·T, V] in place, for reading without a copy (valid until the
    /// next forward or backward; LLaMA's backward turns them into their gradient).
    public func withLastLogits<R>(_ body: (_ logits: UnsafePointer<Float>, _ rows: Int, _ V: Int) throws -> R) rethrows -> R {
        try body(UnsafePointer(activations.logits.pointer), lastB * lastT, config.vocabSize)
    }

    /// −ln softmax(logits)[target] at every position of the last forward that had targets,
    /// [B·T] (0 where the target lay outside the vocabulary). Masked-out positions hold their
    /// value too; the caller applies its own mask.
    public func lastPositionLosses() -> [Float] {
        precondition(hasTargets, "lastPositionLosses: the last forward had no targets")
        return activations.losses.copy(0..<(lastB * lastT))
    }

    /// Per-position argmax of the last forward's logits, [B·T] (first maximum wins). Rows are
    /// split over `Parallel` chunks; each finds its maximum eight lanes at a time, then the
    /// first position holding it.
    public func argmaxPredictions() -> [Int32] {
        let N = lastB * lastT, V = config.vocabSize
        let z = UnsafePointer(activations.logits.pointer)
        var out = [Int32](repeating: 0, count: N)
        out.withUnsafeMutableBufferPointer { predictions in
            let predictions = predictions.baseAddress!
            Parallel.forEachChunk(N, grain: 8) { _, rows in
                for n in rows { predictions[n] = Int32(Self.firstMaximum(z + n * V, count: V)) }
            }
        }
        return out
    }

    /// Index of the first largest of `count` ≥ 1 values (NaNs never win).
    static func firstMaximum(_ x: UnsafePointer<Float>, count: Int) -> Int {
        typealias V = SIMD8<Float>
        let raw = UnsafeRawPointer(x)
        var lanes = V(repeating: -.infinity)
        var i = 0
        while i + V.scalarCount <= count {
            let v = raw.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
            lanes = lanes.replacing(with: v, where: v .> lanes)
            i += V.scalarCount
        }
        var best = lanes.max()
        while i < count {
            if x[i] > best { best = x[i] }
            i += 1
        }
        for j in 0..<count where x[j] == best { return j }
        return 0
    }
}
