/// The low-rank pairs of the LoRA family and LoRA's additive path, shared by `LoRA`, `QLoRA`
/// (which runs the same path on a quantized base) and `DoRA` (which uses A, B, ΔV = s·B·A and
/// the folded backward, on its own scaled output gradient: `foldedBackward`).
///
/// Per adapted site with input `in`, output `out` and rank r:
/// ```
/// lora_A  [r, in]    Kaiming-uniform, bound 1/√in (peft: kaiming_uniform_(a=√5))
/// lora_B  [out, r]   zero, so a fresh path adds nothing
/// forward:  h = x̃·Aᵀ  [M, r]  (cached per site),  y += s·h·Bᵀ          (two sgemms over all M rows)
/// backward: ĝ = s·dy·B [M, r];  dB += s·dyᵀ·h;  dA += ĝᵀ·x̃;  dx += ĝ·A ⊙ mask/(1−p)
/// ```
/// Folded mode (`isFolded`: not merged, and no dropout in effect): the same function is computed
/// as y = x·(W + s·B·A)ᵀ + b — the owner substitutes W_eff via `foldedWeight` (a copy of W plus
/// one rank-r sgemm, O(out·in·r), per call) — so the forward adds no pass over the M rows, the
/// base backward's dx = dy·W_eff already contains the path's input gradient, and the backward
/// here only recomputes h = x·Aᵀ and accumulates dB, dA (four skinny sgemms instead of six;
/// see `foldedBackwardByBlocks`).
///
/// x̃ = x ⊙ mask/(1−p) in training mode with `lora_dropout` p > 0 (inverted dropout on the
/// path's input only, like peft's `lora_dropout(x)`), else x̃ = x. Masks come from one
/// `SeededRNG` forked at attach ("lora_dropout"): each training forward draws one mask per site
/// in site order, so the mask sequence is a function of the seed and of how many training
/// forwards ran before (the step) — the same run is bit-reproducible. Each `next()` gives two
/// 32-bit uniforms u; an element is kept when u ≥ p·2³².
final class LowRankPath {
    /// One adapted site: its views in `parameters` and its offsets in the scratch arenas.
    struct Slot {
        let site: LinearSite
        let input: Int, output: Int
        /// View indices of lora_A and lora_B in `parameters`.
        let a: Int, b: Int
        /// Offset of this site's cached h [maxRows, r] in `hidden`.
        let hiddenOffset: Int
        /// Offset of this site's dropout mask [maxRows, in] in `masks` (when dropout > 0).
        let maskOffset: Int
    }

    let rank: Int
    let scaling: Float
    let dropout: Float
    let maxRows: Int
    private(set) var slots: [Slot] = []
    /// slot index per site (`layer·6 + kind ordinal`), −1 where the site is not adapted.
    private var slotOfSite: [Int]
    /// h = x̃·Aᵀ of the last additive forward at each site, [maxRows, r] per slot.
    private var hidden = FloatArena(count: 0)
    /// ĝ = s·dy·B of the additive backward, [maxRows, r] (shared by every site).
    private var hiddenGradient = FloatArena(count: 0)
    /// Per chunk of the folded backward, one `partialGradientStride` = (maxOut + maxIn)·r slice:
    /// that chunk's dBᵀ [r, out], then (chunks 1…) its partial dA [r, in]; `Parallel.maxWorkers` slices.
    private var partialGradients = FloatArena(count: 0)
    private var partialGradientStride = 0
    /// hᵀ [r, block] then ĝ [block, r] of the folded backward's current block, one pair per
    /// chunk (`Parallel.maxWorkers` pairs).
    private let blockScratch: FloatArena
    /// Where each chunk's `CacheWarming.touch` adds its unused sums, one cache line per chunk.
    private let cacheWarmingSinks = FloatArena(count: Parallel.maxWorkers * CacheWarming.lineStride)
    /// x̃ or the masked input gradient, [maxRows, maxIn] (only with dropout).
    private var dropped = FloatArena(count: 0)
    /// Keep flags (1 = kept), [maxRows, in] per slot (only with dropout).
    private var masks: UnsafeMutablePointer<UInt8>
    private var maskCapacity = 0
    /// Whether the last forward at each slot applied dropout.
    private var maskActive: [Bool] = []
    private var dropoutRNG: SeededRNG
    /// Training mode: dropout on.
    var isTraining = true
    /// While merged, forward and backward add nothing (the update lives in the base weights).
    var isMerged = false

    /// Declares lora_A and lora_B for every site in `parameters` (not yet sealed) and
    /// allocates scratch for `maxRows` = maxB·maxT rows. Call `initialize` after sealing.
    init(sites: [LinearSite], config: ModelConfig, hyperparameters h: LoRAHyperparameters,
         parameters: MethodParameters, maxRows: Int, rng: SeededRNG) {
        rank = h.r
        scaling = h.scaling
        dropout = h.loraDropout
        self.maxRows = maxRows
        var slotOfSite = Array(repeating: -1, count: LinearSite.tableSize(layers: config.layers))
        var slots: [Slot] = []
        dropoutRNG = rng.fork("lora_dropout")
        var maskOffset = 0, maxIn = 0, maxOut = 0
        for (i, site) in sites.enumerated() {
            let (input, output) = site.features(config)
            let a = parameters.add(site.name + ".lora_A", shape: [h.r, input], decays: false)
            let b = parameters.add(site.name + ".lora_B", shape: [output, h.r], decays: false)
            slots.append(Slot(site: site, input: input, output: output, a: a, b: b,
                              hiddenOffset: i * maxRows * h.r, maskOffset: maskOffset))
            slotOfSite[site.index] = i
            maskOffset += maxRows * input
            maxIn = max(maxIn, input)
            maxOut = max(maxOut, output)
        }
        self.slots = slots
        self.slotOfSite = slotOfSite
        maskCapacity = dropout > 0 ? maskOffset : 0
        masks = .allocate(capacity: max(maskCapacity, 1))
        masks.initialize(repeating: 1, count: max(maskCapacity, 1))
        hidden = FloatArena(count: sites.count * maxRows * h.r)
        hiddenGradient = FloatArena(count: maxRows * h.r)
        blockScratch = FloatArena(count: Parallel.maxWorkers * 2 * h.r * BLAS.skinnyBlock)
        partialGradientStride = (maxOut + maxIn) * h.r
        partialGradients = FloatArena(count: Parallel.maxWorkers * partialGradientStride)
        maskActive = Array(repeating: false, count: sites.count)
        if dropout > 0 { dropped = FloatArena(count: maxRows * maxIn) }
    }

    deinit { masks.deallocate() }


    /// The slot of `site`, or nil when it is not adapted.
    @inline(__always) func slot(for site: LinearSite) -> Slot? {
        let k = site.index
        guard k < slotOfSite.count, slotOfSite[k] >= 0 else { return nil }
        return slots[slotOfSite[k]]
    }

    /// Kaiming-uniform A (one forked stream per site, "<site>.lora_A"), zero B.
    func initialize(parameters: MethodParameters, rng: SeededRNG) {
        for slot in slots {
            var siteRNG = rng.fork(slot.site.name + ".lora_A")
            let a = Tensor.kaimingUniform(shape: [rank, slot.input], rng: &siteRNG)
            a.storage.withUnsafeBufferPointer { parameters.value(slot.a).update(from: $0.baseAddress!, count: a.count) }
            parameters.value(slot.b).update(repeating: 0, count: slot.output * rank)
        }
    }

    // MARK: Forward / backward of the additive path

    /// Whether the path is folded into the weight (see the type): no dropout in effect, not merged.
    var isFolded: Bool { !isMerged && !forcesAdditive && !(isTraining && dropout > 0) }
    /// Test seam: run the additive form even without dropout (the two forms must agree).
    var forcesAdditive = false

    /// W_eff = W + s·B·A [out, in] of `slot` into `out`, where `weight` is W.
    func foldedWeight(_ slot: Slot, weight: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, parameters p: MethodParameters) {
        if UnsafePointer(out) != weight { out.update(from: weight, count: slot.output * slot.input) }
        addProduct(slot, alpha: 1, beta: 1, into: out, parameters: p)
    }

    /// Whether `backward` at `site` adds into dx: only the additive form at an adapted site
    /// (folded, the base's dx = dy·W_eff already holds the path's share).
    func addsInputGradient(at site: LinearSite) -> Bool {
        !isMerged && !isFolded && slot(for: site) != nil
    }

    /// Additive mode: y [rows, out] += s·(x̃·Aᵀ)·Bᵀ for x [rows, in]. Folded mode: nothing.
    func forward(site: LinearSite, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, rows M: Int,
                 parameters p: MethodParameters) {
        guard !isMerged, let slot = slot(for: site) else { return }
        precondition(M <= maxRows, "LoRA path: \(M) rows exceed the \(maxRows) allocated at attach")
        let index = slotOfSite[site.index]
        maskActive[index] = false
        guard !isFolded else { return }
        let r = rank, IC = slot.input, OC = slot.output
        let h = hidden.at(slot.hiddenOffset)
        var input = x
        maskActive[index] = isTraining && dropout > 0
        if maskActive[index] {
            drawMask(masks + slot.maskOffset, count: M * IC)
            applyMask(out: dropped.pointer, x: x, mask: masks + slot.maskOffset, count: M * IC)
            input = UnsafePointer(dropped.pointer)
        }
        BLAS.sgemmBlocked(transA: false, transB: true, m: M, n: r, k: IC, alpha: 1, a: input, lda: IC,
                          b: p.value(slot.a), ldb: IC, beta: 0, c: h, ldc: r)
        BLAS.sgemmBlocked(transA: false, transB: true, m: M, n: OC, k: r, alpha: scaling, a: h, lda: r,
                          b: p.value(slot.b), ldb: r, beta: 1, c: y, ldc: OC)
    }

    /// Accumulates dA, dB (and, additive mode only and when dx is given, dx) for the path;
    /// dy [rows, out] is the site output's gradient.
    func backward(site: LinearSite, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                  dx: UnsafeMutablePointer<Float>?, rows M: Int, parameters p: MethodParameters) {
        guard !isMerged, let slot = slot(for: site) else { return }
        let index = slotOfSite[site.index]
        let r = rank, IC = slot.input, OC = slot.output, s = scaling
        let h = hidden.at(slot.hiddenOffset), g = hiddenGradient.pointer
        if isFolded {
            foldedBackwardByBlocks(slot, x: x, dy: dy, rows: M, parameters: p)
            return
        }
        // Additive form (dropout in effect, or the test seam): six products over all M rows.
        // ĝ = s·dy·B  [M, r]
        BLAS.sgemmBlocked(transA: false, transB: false, m: M, n: r, k: OC, alpha: s, a: dy, lda: OC,
                          b: p.value(slot.b), ldb: r, beta: 0, c: g, ldc: r)
        // dB += s·dyᵀ·h  [out, r]
        BLAS.sgemmBlocked(transA: true, transB: false, m: OC, n: r, k: M, alpha: s, a: dy, lda: OC,
                          b: h, ldb: r, beta: 1, c: p.gradient(slot.b), ldc: r)
        if maskActive[index] {
            let mask = masks + slot.maskOffset
            applyMask(out: dropped.pointer, x: x, mask: mask, count: M * IC)
            // dA += ĝᵀ·x̃  [r, in]
            BLAS.sgemmBlocked(transA: true, transB: false, m: r, n: IC, k: M, alpha: 1, a: g, lda: r,
                              b: dropped.pointer, ldb: IC, beta: 1, c: p.gradient(slot.a), ldc: IC)
            // dx += (ĝ·A) ⊙ mask/(1−p)
            guard let dx else { return }
            BLAS.sgemmBlocked(transA: false, transB: false, m: M, n: IC, k: r, alpha: 1, a: g, lda: r,
                              b: p.value(slot.a), ldb: IC, beta: 0, c: dropped.pointer, ldc: IC)
            addMasked(dx: dx, gradient: dropped.pointer, mask: mask, count: M * IC)
        } else {
            BLAS.sgemmBlocked(transA: true, transB: false, m: r, n: IC, k: M, alpha: 1, a: g, lda: r,
                              b: x, ldb: IC, beta: 1, c: p.gradient(slot.a), ldc: IC)
            guard let dx else { return }
            BLAS.sgemmBlocked(transA: false, transB: false, m: M, n: IC, k: r, alpha: 1, a: g, lda: r,
                              b: p.value(slot.a), ldb: IC, beta: 1, c: dx, ldc: IC)
        }
    }

    /// dA, dB of the folded form at `site` for output gradient dy, whatever the mode (DoRA's
    /// entry: it substitutes V itself and never runs the additive path).
    func foldedBackward(site: LinearSite, x: UnsafePointer<Float>, dy: UnsafePointer<Float>, rows M: Int,
                        parameters p: MethodParameters) {
        guard let slot = slot(for: site) else { return }
        foldedBackwardByBlocks(slot, x: x, dy: dy, rows: M, parameters: p)
    }

    /// The folded backward: the same gradients as `backward`, in 64-row blocks
    /// (`BLAS.skinnyBlock`) taken one at a time — hᵀ, ĝ, then that block's share of dBᵀ and
    /// dA — so each block of x and dy is read from memory once while it is still in cache, and
    /// in one `Parallel` call per site (the blocks cut into contiguous chunks) instead of one
    /// per product. Each block of x and dy is first pulled into cache (`CacheWarming`).
    /// Per block of rows, with x_b [rows, in] and dy_b [rows, out]:
    /// ```
    /// hᵀ = A·x_bᵀ [r, rows];  ĝ = s·dy_b·B [rows, r];  dBᵀ += s·hᵀ·dy_b [r, out];  dA += ĝᵀ·x_b [r, in]
    /// ```
    /// h is kept transposed and dB accumulated as dBᵀ because OpenBLAS's small kernels run
    /// these r-row shapes about twice as fast as the r-column ones (measured: 17 µs against 32 µs
    /// per 128×128 site for dB's product). Every chunk sums its dBᵀ in its own slice of
    /// `partialGradients`; chunk 0 sums dA straight into the gradient, chunk c > 0 into its
    /// slice. Afterwards dB += Σ_c (dBᵀ_c)ᵀ and dA += Σ_{c>0} dA_c, in chunk order. The summation
    /// order is therefore fixed by the number of chunks: bit-reproducible per thread count.
    private func foldedBackwardByBlocks(_ slot: Slot, x: UnsafePointer<Float>, dy: UnsafePointer<Float>,
                                        rows M: Int, parameters p: MethodParameters) {
        guard M > 0 else { return }
        let r = rank, IC = slot.input, OC = slot.output, s = scaling, block = BLAS.skinnyBlock
        let A = p.value(slot.a), B = p.value(slot.b), dA = p.gradient(slot.a), dB = p.gradient(slot.b)
        let partials = partialGradients.pointer, partialStride = partialGradientStride
        let touchSinks = cacheWarmingSinks, scratch = blockScratch.pointer
        let blockCount = (M + block - 1) / block
        // The chunk count is read once: the partial sums below must match the chunks that ran.
        let chunks = max(Parallel.chunkCount(blockCount, grain: 4), 1)
        Parallel.forEachChunk(blockCount, chunks: chunks) { chunk, blocks in
            let sink = touchSinks.at(chunk * CacheWarming.lineStride)
            // hᵀ [r, block] and ĝ [block, r] of the chunk's current block (stay in L1).
            let htb = scratch + chunk * 2 * r * block, gb = htb + r * block
            // Slice c: dBᵀ [r, out] of chunk c, then (c > 0) its dA [r, in].
            let dBt = partials + chunk * partialStride
            let dAc = chunk == 0 ? dA : dBt + r * OC
            for blockIndex in blocks {
                let m0 = blockIndex * block, rows = min(block, M - m0)
                let xb = x + m0 * IC, dyb = dy + m0 * OC
                let first = blockIndex == blocks.lowerBound
                CacheWarming.touch(xb, count: rows * IC, sink: sink)
                CacheWarming.touch(dyb, count: rows * OC, sink: sink)
                // hᵀ = A·x_bᵀ [r, rows];  ĝ = s·dy_b·B [rows, r]
                BLAS.sgemm(transA: false, transB: true, m: r, n: rows, k: IC, alpha: 1, a: A, lda: IC,
                           b: xb, ldb: IC, beta: 0, c: htb, ldc: rows)
                BLAS.sgemm(transA: false, transB: false, m: rows, n: r, k: OC, alpha: s, a: dyb, lda: OC,
                           b: B, ldb: r, beta: 0, c: gb, ldc: r)
                // dBᵀ += s·hᵀ·dy_b [r, out];  dA += ĝᵀ·x_b [r, in]
                BLAS.sgemm(transA: false, transB: false, m: r, n: OC, k: rows, alpha: s, a: htb, lda: rows,
                           b: dyb, ldb: OC, beta: first ? 0 : 1, c: dBt, ldc: OC)
                BLAS.sgemm(transA: true, transB: false, m: r, n: IC, k: rows, alpha: 1, a: gb, lda: r,
                           b: xb, ldb: IC, beta: chunk > 0 && first ? 0 : 1, c: dAc, ldc: IC)
            }
        }
        // dB [out, r] += Σ_c (dBᵀ_c)ᵀ, chunks in order.
        for o in 0..<OC {
            for j in 0..<r {
                var sum: Float = 0
                for chunk in 0..<chunks { sum += partials[chunk * partialStride + j * OC + o] }
                dB[o * r + j] += sum
            }
        }
        for chunk in stride(from: 1, to: chunks, by: 1) {
            let dAc = partials + chunk * partialStride + r * OC
            for i in 0..<(r * IC) { dA[i] += dAc[i] }
        }
    }

    // MARK: Dropout

    /// Fills `mask` with keep flags: two 32-bit uniforms per `next()`, kept when u ≥ p·2³².
    private func drawMask(_ mask: UnsafeMutablePointer<UInt8>, count n: Int) {
        let threshold = UInt64((Double(dropout) * 4_294_967_296).rounded(.down))
        var i = 0
        while i < n {
            let bits = dropoutRNG.next()
            mask[i] = (bits >> 32) >= threshold ? 1 : 0
            if i + 1 < n { mask[i + 1] = (bits & 0xFFFF_FFFF) >= threshold ? 1 : 0 }
            i += 2
        }
    }

    /// out = x ⊙ mask / (1 − p).
    private func applyMask(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, mask: UnsafePointer<UInt8>, count n: Int) {
        let keep = 1 / (1 - dropout)
        for i in 0..<n { out[i] = mask[i] != 0 ? x[i] * keep : 0 }
    }

    /// dx += gradient ⊙ mask / (1 − p).
    private func addMasked(dx: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, mask: UnsafePointer<UInt8>, count n: Int) {
        let keep = 1 / (1 - dropout)
        for i in 0..<n where mask[i] != 0 { dx[i] += gradient[i] * keep }
    }

    /// The keep mask of the last forward at `site` (tests), or nil when dropout was off there.
    func lastMask(for site: LinearSite, rows: Int) -> [UInt8]? {
        guard let slot = slot(for: site), maskActive[slotOfSite[site.index]] else { return nil }
        return Array(UnsafeBufferPointer(start: masks + slot.maskOffset, count: rows * slot.input))
    }

    // MARK: Weight space

    /// out [out, in] = beta·out + alpha·s·B·A at `slot` (one sgemm, k = r).
    func addProduct(_ slot: Slot, alpha: Float, beta: Float, into out: UnsafeMutablePointer<Float>, parameters p: MethodParameters) {
        BLAS.sgemm(transA: false, transB: false, m: slot.output, n: slot.input, k: rank, alpha: alpha * scaling,
                   a: p.value(slot.b), lda: rank, b: p.value(slot.a), ldb: slot.input, beta: beta, c: out, ldc: slot.input)
    }

    /// ΔW = s·B·A [out, in] at `site`, or nil when it is not adapted.
    func delta(for site: LinearSite, parameters p: MethodParameters) -> Tensor? {
        guard let slot = slot(for: site) else { return nil }
        var t = Tensor(shape: [slot.output, slot.input])
        t.storage.withUnsafeMutableBufferPointer { addProduct(slot, alpha: 1, beta: 0, into: $0.baseAddress!, parameters: p) }
        return t
    }

    /// Folds s·B·A into the base weights (`merged` true) or takes it back out (false);
    /// nothing happens when the path is already in that state. While merged, the path adds
    /// nothing to forward and backward.
    func setMerged(_ merged: Bool, model: TransformerModel, parameters p: MethodParameters) {
        guard merged != isMerged else { return }
        addToBase(sign: merged ? 1 : -1, model: model, parameters: p)
        isMerged = merged
    }

    /// W += sign·s·B·A in the model's arena at every adapted site (merge: +1, unmerge: −1).
    func addToBase(sign: Float, model: TransformerModel, parameters p: MethodParameters) {
        for slot in slots {
            let view = model.parameters.view(named: slot.site.weightName)
            addProduct(slot, alpha: sign, beta: 1, into: model.parameters.values.at(view.offset), parameters: p)
        }
    }
}
