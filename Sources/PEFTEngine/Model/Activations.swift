/// Every buffer the forward pass caches for backward, plus backward's scratch,
/// allocated once for at most `maxB` sequences of `maxT` tokens and `maxP` prefix rows.
///
/// A call with (B, T) packs each buffer densely for that call: N = B·T rows, per-layer
/// blocks of N·C (or N·F, B·NH·T·S) elements, S = P + T. Each buffer's shape is written
/// beside it below (L layers).
public final class Activations {
    public let maxB: Int, maxT: Int, maxP: Int

    // MARK: Inputs, copied in by forward
    /// [B, T] token ids.
    let tokens: UnsafeMutablePointer<Int32>
    /// [B, T] next-token targets.
    let targets: UnsafeMutablePointer<Int32>
    /// [B, T] loss mask.
    let mask: FloatArena

    // MARK: Forward caches
    /// [L+1, B, T, C] residual stream: resid[0] = embeddings, resid[l+1] = output of block l.
    let resid: FloatArena
    /// [L, B, T, C] ln1 output; [L, B, T] its mean and rstd.
    let ln1: FloatArena, ln1Mean: FloatArena, ln1Rstd: FloatArena
    /// [L, B, T, C] query, key, value projections.
    let q: FloatArena, k: FloatArena, v: FloatArena
    /// [L, B, NH, T, S] attention probabilities.
    let att: FloatArena
    /// [L, B, T, C] attention output before the o projection.
    let attnY: FloatArena
    /// [L, B, T, C] o projection output.
    let attnO: FloatArena
    /// [L, B, T, C] resid[l] + attnO[l].
    let residMid: FloatArena
    /// [L, B, T, C] ln2 output; [L, B, T] its mean and rstd.
    let ln2: FloatArena, ln2Mean: FloatArena, ln2Rstd: FloatArena
    /// [L, B, T, F] fc output before and after GELU.
    let fcPre: FloatArena, fcAct: FloatArena
    /// [L, B, T, F] GELU's gate σ(2u), cached for its backward.
    let geluGate: FloatArena
    /// [L, B, T, C] proj output.
    let mlpOut: FloatArena
    /// [B, T, C] ln_f output; [B, T] its mean and rstd.
    let lnf: FloatArena, lnfMean: FloatArena, lnfRstd: FloatArena
    /// [B, T, V] logits and softmax probabilities.
    let logits: FloatArena, probs: FloatArena
    /// [B, T] per-token negative log-likelihood.
    let losses: FloatArena

    // MARK: Backward scratch (reused per layer)
    /// [B, T, C] running gradient of the residual stream.
    let dresid: FloatArena
    /// [B, T, C] gradient of a LayerNorm output (ln1, ln2 or ln_f).
    let dln: FloatArena
    /// [B, T, C] gradients of q, k, v and of the attention output.
    let dq: FloatArena, dk: FloatArena, dv: FloatArena, dattnY: FloatArena
    /// [B, T, F] gradient of the GELU output, turned in place into that of its input.
    let dfc: FloatArena
    /// [B, T, V] gradient of the logits.
    let dlogits: FloatArena
    /// [Parallel.maxWorkers, T, S] attention-probability gradient, one (b, h) at a time per worker.
    let datt: FloatArena

    public init(config: ModelConfig, maxB: Int, maxT: Int, maxP: Int = 0) {
        precondition(maxB >= 1 && maxT >= 1 && maxP >= 0, "Activations: bad capacity B=\(maxB) T=\(maxT) P=\(maxP)")
        precondition(maxT <= config.contextLength, "Activations: maxT \(maxT) exceeds context length \(config.contextLength)")
        self.maxB = maxB; self.maxT = maxT; self.maxP = maxP
        let L = config.layers, C = config.dModel, F = config.dFF, V = config.vocabSize, NH = config.heads
        let N = maxB * maxT, S = maxP + maxT
        tokens = .allocate(capacity: N); tokens.initialize(repeating: 0, count: N)
        targets = .allocate(capacity: N); targets.initialize(repeating: 0, count: N)
        mask = FloatArena(count: N)
        resid = FloatArena(count: (L + 1) * N * C)
        ln1 = FloatArena(count: L * N * C); ln1Mean = FloatArena(count: L * N); ln1Rstd = FloatArena(count: L * N)
        q = FloatArena(count: L * N * C); k = FloatArena(count: L * N * C); v = FloatArena(count: L * N * C)
        att = FloatArena(count: L * maxB * NH * maxT * S)
        attnY = FloatArena(count: L * N * C); attnO = FloatArena(count: L * N * C)
        residMid = FloatArena(count: L * N * C)
        ln2 = FloatArena(count: L * N * C); ln2Mean = FloatArena(count: L * N); ln2Rstd = FloatArena(count: L * N)
        fcPre = FloatArena(count: L * N * F); fcAct = FloatArena(count: L * N * F)
        geluGate = FloatArena(count: L * N * F)
        mlpOut = FloatArena(count: L * N * C)
        lnf = FloatArena(count: N * C); lnfMean = FloatArena(count: N); lnfRstd = FloatArena(count: N)
        logits = FloatArena(count: N * V); probs = FloatArena(count: N * V)
        losses = FloatArena(count: N)
        dresid = FloatArena(count: N * C); dln = FloatArena(count: N * C)
        dq = FloatArena(count: N * C); dk = FloatArena(count: N * C); dv = FloatArena(count: N * C)
        dattnY = FloatArena(count: N * C)
        dfc = FloatArena(count: N * F)
        dlogits = FloatArena(count: N * V)
        datt = FloatArena(count: Attention.scratchCount(T: maxT, S: S))
    }

    deinit {
        tokens.deallocate()
        targets.deallocate()
    }
}
