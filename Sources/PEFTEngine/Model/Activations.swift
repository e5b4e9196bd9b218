/// Every buffer the forward pass caches for backward, plus backward's scratch,
/// allocated once for at most `maxB` sequences of `maxT` tokens and `maxP` prefix rows.
///
/// A call with (B, T) packs each buffer densely for that call: N = B·T rows, per-layer
/// blocks of N·C (or N·F, N·KVC, B·NH·T·S) elements, S = P + T. Each buffer's shape is written
/// beside it below (L layers). Buffers one block does not use are allocated empty: the
/// LayerNorm means, GELU gate and softmax probabilities are GPT-2's; the rotated q and k, the
/// up projection, the row log-sum-exp and the GQA scratch are LLaMA's.
///
/// LLaMA holds one [B, T, V] buffer: `logits`, turned in place into their gradient by backward.
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
    /// [L, B, T, C] query, [L, B, T, KVC] key and value projections (site outputs, before RoPE).
    let q: FloatArena, k: FloatArena, v: FloatArena
    /// LLaMA: [L, B, T, C] RoPE(q) and [L, B, T, KVC] RoPE(k), what attention reads.
    let qRot: FloatArena, kRot: FloatArena
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
    /// [L, B, T, F] fc output before and after GELU; LLaMA: gate output and SiLU(gate) ⊙ up.
    let fcPre: FloatArena, fcAct: FloatArena
    /// LLaMA: [L, B, T, F] up output.
    let up: FloatArena
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
    /// LLaMA: [B, T] log Σ exp(logits) per row, for the in-place loss backward.
    let logSumExp: FloatArena

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
    /// LLaMA: [B, T, C] keys and values repeated to every query head (GQA), rebuilt per layer.
    let kFull: FloatArena, vFull: FloatArena
    /// LLaMA: [B, T, KVC] gradients of RoPE(k) and v summed over each key/value head's group.
    let dkShared: FloatArena, dvShared: FloatArena
    /// LLaMA: [B, T, F] gradient of the up output (dfc holds the gate's).
    let dup: FloatArena
    /// LLaMA: [2, NH, maxP, HS] prefix keys, values repeated to every query head, and
    /// [2, NH, maxP, HS] their gradients (empty without GQA or prefix).
    let prefixFull: FloatArena, dprefixFull: FloatArena

    public init(config: ModelConfig, maxB: Int, maxT: Int, maxP: Int = 0) {
        precondition(maxB >= 1 && maxT >= 1 && maxP >= 0, "Activations: bad capacity B=\(maxB) T=\(maxT) P=\(maxP)")
        precondition(maxT <= config.contextLength, "Activations: maxT \(maxT) exceeds context length \(config.contextLength)")
        self.maxB = maxB; self.maxT = maxT; self.maxP = maxP
        let L = config.layers, C = config.dModel, F = config.dFF, V = config.vocabSize, NH = config.heads
        let KVC = config.kvChannels, llama = config.isLlama
        let N = maxB * maxT, S = maxP + maxT
        /// `count` for the block that uses the buffer, 0 for the other.
        func gpt2(_ count: Int) -> Int { llama ? 0 : count }
        func onlyLlama(_ count: Int) -> Int { llama ? count : 0 }
        tokens = .allocate(capacity: N); tokens.initialize(repeating: 0, count: N)
        targets = .allocate(capacity: N); targets.initialize(repeating: 0, count: N)
        mask = FloatArena(count: N)
        resid = FloatArena(count: (L + 1) * N * C)
        ln1 = FloatArena(count: L * N * C); ln1Mean = FloatArena(count: gpt2(L * N)); ln1Rstd = FloatArena(count: L * N)
        q = FloatArena(count: L * N * C); k = FloatArena(count: L * N * KVC); v = FloatArena(count: L * N * KVC)
        qRot = FloatArena(count: onlyLlama(L * N * C)); kRot = FloatArena(count: onlyLlama(L * N * KVC))
        att = FloatArena(count: L * maxB * NH * maxT * S)
        attnY = FloatArena(count: L * N * C); attnO = FloatArena(count: L * N * C)
        residMid = FloatArena(count: L * N * C)
        ln2 = FloatArena(count: L * N * C); ln2Mean = FloatArena(count: gpt2(L * N)); ln2Rstd = FloatArena(count: L * N)
        fcPre = FloatArena(count: L * N * F); fcAct = FloatArena(count: L * N * F)
        up = FloatArena(count: onlyLlama(L * N * F))
        geluGate = FloatArena(count: gpt2(L * N * F))
        mlpOut = FloatArena(count: L * N * C)
        lnf = FloatArena(count: N * C); lnfMean = FloatArena(count: gpt2(N)); lnfRstd = FloatArena(count: N)
        logits = FloatArena(count: N * V); probs = FloatArena(count: gpt2(N * V))
        losses = FloatArena(count: N)
        logSumExp = FloatArena(count: onlyLlama(N))
        dresid = FloatArena(count: N * C); dln = FloatArena(count: N * C)
        dq = FloatArena(count: N * C); dk = FloatArena(count: N * C); dv = FloatArena(count: N * C)
        dattnY = FloatArena(count: N * C)
        dfc = FloatArena(count: N * F)
        dlogits = FloatArena(count: gpt2(N * V))
        datt = FloatArena(count: Attention.scratchCount(T: maxT, S: S))
        kFull = FloatArena(count: onlyLlama(N * C)); vFull = FloatArena(count: onlyLlama(N * C))
        dkShared = FloatArena(count: onlyLlama(N * KVC)); dvShared = FloatArena(count: onlyLlama(N * KVC))
        dup = FloatArena(count: onlyLlama(N * F))
        prefixFull = FloatArena(count: onlyLlama(2 * maxP * C)); dprefixFull = FloatArena(count: onlyLlama(2 * maxP * C))
    }

    /// The bytes `Activations(config:maxB:maxT:maxP:).bytes` would hold, in closed form and in
    /// Double (nothing allocated, no overflow): for checking a study's size before building it.
    public static func estimatedBytes(config: ModelConfig, maxB: Int, maxT: Int, maxP: Int = 0) -> Double {
        let L = Double(config.layers), C = Double(config.dModel), F = Double(config.dFF), V = Double(config.vocabSize)
        let NH = Double(config.heads), KVC = Double(config.kvChannels), llama = config.isLlama
        let N = Double(maxB) * Double(maxT), S = Double(maxP + maxT), P = Double(maxP)
        func gpt2(_ x: Double) -> Double { llama ? 0 : x }
        func onlyLlama(_ x: Double) -> Double { llama ? x : 0 }
        var floats = N                                            // mask
        floats += (L + 1) * N * C                                 // resid
        floats += L * N * C + gpt2(L * N) + L * N                 // ln1, mean, rstd
        floats += L * N * C + 2 * L * N * KVC                     // q, k, v
        floats += onlyLlama(L * N * C) + onlyLlama(L * N * KVC)   // qRot, kRot
        floats += L * Double(maxB) * NH * Double(maxT) * S        // att
        floats += 3 * L * N * C                                   // attnY, attnO, residMid
        floats += L * N * C + gpt2(L * N) + L * N                 // ln2, mean, rstd
        floats += 2 * L * N * F + onlyLlama(L * N * F) + gpt2(L * N * F)   // fcPre, fcAct, up, geluGate
        floats += L * N * C                                       // mlpOut
        floats += N * C + gpt2(N) + N                             // lnf, mean, rstd
        floats += N * V + gpt2(N * V)                             // logits, probs
        floats += N + onlyLlama(N)                                // losses, logSumExp
        floats += 2 * N * C + 4 * N * C + N * F + gpt2(N * V)     // dresid, dln, dq…dattnY, dfc, dlogits
        floats += Double(Parallel.maxWorkers) * Double(maxT) * S  // datt (Attention.scratchCount)
        floats += onlyLlama(2 * N * C) + onlyLlama(2 * N * KVC) + onlyLlama(N * F)
        floats += onlyLlama(2 * P * C) * 2                        // prefixFull, dprefixFull
        return 4 * floats + 8 * N
    }

    /// Bytes of every buffer (the activation memory of a model built for maxB, maxT, maxP).
    public var bytes: Int {
        let arenas: [FloatArena] = [mask, resid, ln1, ln1Mean, ln1Rstd, q, k, v, qRot, kRot, att, attnY, attnO, residMid,
                                    ln2, ln2Mean, ln2Rstd, fcPre, fcAct, up, geluGate, mlpOut, lnf, lnfMean, lnfRstd,
                                    logits, probs, losses, logSumExp, dresid, dln, dq, dk, dv, dattnY, dfc, dlogits, datt,
                                    kFull, vFull, dkShared, dvShared, dup, prefixFull, dprefixFull]
        return 4 * arenas.reduce(0) { $0 + $1.count } + 8 * maxB * maxT
    }

    deinit {
        tokens.deallocate()
        targets.deallocate()
    }
}
