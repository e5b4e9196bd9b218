import Foundation

/// Causal multi-head scaled dot-product attention (Vaswani et al. 2017) with an optional
/// prefix of P extra key/value rows per head (prefix tuning, Li & Liang 2021):
///
///     keys_h   = [prefixK_h ; K_h]     (P + T rows of HS)
///     values_h = [prefixV_h ; V_h]
///     att[b,h,t,:] = softmax over s < P + t + 1 of (Q_bh[t] · keys_h[s]) / √HS   (0 elsewhere)
///     out[b,t,h·HS ..< (h+1)·HS] = att[b,h,t,:] · values_h
///
/// Every query sees all P prefix rows, then the causal part. The prefix is shared across
/// the batch. Head h occupies channels h·HS ..< (h+1)·HS of q, k, v and out.
/// Per (b, h) the products are small sgemms over the T×(P+T) block; the masked upper
/// triangle holds probability 0, so it contributes nothing forward or backward, and the
/// products that multiply by the causal T×T block skip its zero upper-right quarter
/// (`causalTimes`, `causalTransposedTimes`; from T = 32 rows). The score
/// sgemm folds log₂e into its scale, so the softmax runs in base 2 (`FastExp.exponentiate2`):
/// 2^(y·log₂e) = e^y, the same probabilities for fewer operations.
///
/// The (b, h) pairs are independent (disjoint rows of `att`, disjoint columns of `out`, dq,
/// dk, dv), so `forward`/`backward` split them over `Parallel` chunks; their small sgemms then
/// run concurrently, each on its chunk's thread (`Parallel` turns OpenBLAS's own threading off
/// inside chunks: at T 128, HS 64 a product is above OpenBLAS's threading threshold).
/// The prefix gradients sum over the batch: when they are requested, backward splits heads
/// instead and keeps b in order within a head. Either way every output element sees the
/// serial loop's order of operations, so results do not depend on the thread count.
enum Attention {
    /// (b, h) pairs per chunk below which a call stays on one thread.
    static let grain = 2

    /// Floats backward's `datt` scratch must hold: a [T, S] slice per possible chunk.
    static func scratchCount(T: Int, S: Int) -> Int { Parallel.maxWorkers * T * S }

    /// Shapes (S = P + T):
    /// - q, k, v: [B, T, C]; prefixK, prefixV: [NH, P, HS] (nil iff P = 0)
    /// - att: [B, NH, T, S] softmax probabilities, cached for backward
    /// - out: [B, T, C] (overwritten)
    static func forward(
        out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        prefixK: UnsafePointer<Float>?, prefixV: UnsafePointer<Float>?,
        B: Int, T: Int, C: Int, NH: Int, P: Int
    ) {
        precondition(C % NH == 0, "Attention: C = \(C) not divisible by NH = \(NH)")
        precondition(P == 0 || (prefixK != nil && prefixV != nil), "Attention: P = \(P) but no prefix buffers")
        Parallel.forEachChunk(B * NH, grain: grain) { _, pairs in
            for pair in pairs {
                forwardPair(b: pair / NH, h: pair % NH, out: out, att: att, q: q, k: k, v: v,
                            prefixK: prefixK, prefixV: prefixV, T: T, C: C, NH: NH, P: P)
            }
        }
    }

    /// Forward of one (b, h): scores, softmax, and its HS columns of out.
    @inline(__always)
    private static func forwardPair(
        b: Int, h: Int, out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        prefixK: UnsafePointer<Float>?, prefixV: UnsafePointer<Float>?, T: Int, C: Int, NH: Int, P: Int
    ) {
        let HS = C / NH, S = P + T
        let scale = scoreScale(HS)
        let qbh = q + b * T * C + h * HS, kbh = k + b * T * C + h * HS, vbh = v + b * T * C + h * HS
        let scores = att + (b * NH + h) * T * S
        if P > 0 {
            BLAS.sgemm(transA: false, transB: true, m: T, n: P, k: HS, alpha: scale, a: qbh, lda: C,
                       b: prefixK! + h * P * HS, ldb: HS, beta: 0, c: scores, ldc: S)
        }
        BLAS.sgemm(transA: false, transB: true, m: T, n: T, k: HS, alpha: scale, a: qbh, lda: C,
                   b: kbh, ldb: C, beta: 0, c: scores + P, ldc: S)
        for t in 0..<T {
            softmaxRow(scores + t * S, visible: P + t + 1, width: S)
        }
        let obh = out + b * T * C + h * HS
        causalTimes(scores + P, ld: S, b: vbh, ldb: C, beta: 0, c: obh, ldc: C, T: T, N: HS)
        if P > 0 {
            BLAS.sgemm(transA: false, transB: false, m: T, n: HS, k: P, alpha: 1, a: scores, lda: S,
                       b: prefixV! + h * P * HS, ldb: HS, beta: 1, c: obh, ldc: C)
        }
    }

    /// The scores' scale, log₂e/√HS: scores in log₂ units, for the base-2 softmax.
    @inline(__always)
    static func scoreScale(_ HS: Int) -> Float { FastExp.log2e / Float(HS).squareRoot() }

    /// In-place softmax of the first `visible` entries of a row of base-2 scores (2^y / Σ 2^y);
    /// entries visible..<width set to 0. Powers by `FastExp.exp2` (vectorised; a few ulps).
    @inline(__always)
    private static func softmaxRow(_ row: UnsafeMutablePointer<Float>, visible: Int, width: Int) {
        let sum = FastExp.exponentiate2(out: row, x: row, count: visible).sum
        let inv = 1 / sum
        for s in 0..<visible { row[s] *= inv }
        for s in visible..<width { row[s] = 0 }
    }

    /// Accumulates dq, dk, dv [B, T, C] and, when non-nil, dprefixK, dprefixV [NH, P, HS].
    /// `accumulate` false: dq, dk, dv are overwritten instead (their first sgemm per (b, h)
    /// runs with beta = 0), so the caller need not zero them; the prefix gradients still accumulate.
    /// - datt: scratch of `scratchCount(T:S:)` = [Parallel.maxWorkers, T, S] floats, one
    ///   [T, S] slice per chunk, overwritten (no allocation inside).
    ///
    /// With A the probabilities and dA = dout · valuesᵀ:
    /// `dvalues += Aᵀ · dout`, `dZ = A ⊙ (dA − rowsum(A ⊙ dA)) / √HS`,
    /// `dq += dZ · keys`, `dkeys += dZᵀ · q`.
    static func backward(
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
        dprefixK: UnsafeMutablePointer<Float>?, dprefixV: UnsafeMutablePointer<Float>?,
        datt: UnsafeMutablePointer<Float>,
        dout: UnsafePointer<Float>, att: UnsafePointer<Float>,
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        prefixK: UnsafePointer<Float>?, prefixV: UnsafePointer<Float>?,
        B: Int, T: Int, C: Int, NH: Int, P: Int, accumulate: Bool = true
    ) {
        let S = P + T
        let beta: Float = accumulate ? 1 : 0
        if dprefixK == nil && dprefixV == nil {
            Parallel.forEachChunk(B * NH, grain: grain) { chunk, pairs in
                for pair in pairs {
                    backwardPair(b: pair / NH, h: pair % NH, dq: dq, dk: dk, dv: dv, dprefixK: nil, dprefixV: nil,
                                 datt: datt + chunk * T * S, dout: dout, att: att, q: q, k: k, v: v,
                                 prefixK: prefixK, prefixV: prefixV, T: T, C: C, NH: NH, P: P, beta: beta)
                }
            }
        } else {
            // dprefixK/V[h] sum over b: one chunk owns a head and visits b in order.
            Parallel.forEachChunk(NH) { chunk, heads in
                for h in heads {
                    for b in 0..<B {
                        backwardPair(b: b, h: h, dq: dq, dk: dk, dv: dv, dprefixK: dprefixK, dprefixV: dprefixV,
                                     datt: datt + chunk * T * S, dout: dout, att: att, q: q, k: k, v: v,
                                     prefixK: prefixK, prefixV: prefixV, T: T, C: C, NH: NH, P: P, beta: beta)
                    }
                }
            }
        }
    }

    /// Backward of one (b, h); `datt` is this chunk's [T, S] scratch; `beta` scales what dq, dk,
    /// dv held (1 accumulates, 0 overwrites).
    @inline(__always)
    private static func backwardPair(
        b: Int, h: Int,
        dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
        dprefixK: UnsafeMutablePointer<Float>?, dprefixV: UnsafeMutablePointer<Float>?,
        datt: UnsafeMutablePointer<Float>,
        dout: UnsafePointer<Float>, att: UnsafePointer<Float>,
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        prefixK: UnsafePointer<Float>?, prefixV: UnsafePointer<Float>?,
        T: Int, C: Int, NH: Int, P: Int, beta: Float
    ) {
        let HS = C / NH, S = P + T
        let scale = 1 / Float(HS).squareRoot()
        let off = b * T * C + h * HS
        let qbh = q + off, kbh = k + off, vbh = v + off, dobh = dout + off
        let A = att + (b * NH + h) * T * S
        // dA = dout · valuesᵀ
        BLAS.sgemm(transA: false, transB: true, m: T, n: T, k: HS, alpha: 1, a: dobh, lda: C,
                   b: vbh, ldb: C, beta: 0, c: datt + P, ldc: S)
        causalTransposedTimes(A + P, ld: S, b: dobh, ldb: C, beta: beta, c: dv + off, ldc: C, T: T, N: HS)
        if P > 0 {
            BLAS.sgemm(transA: false, transB: true, m: T, n: P, k: HS, alpha: 1, a: dobh, lda: C,
                       b: prefixV! + h * P * HS, ldb: HS, beta: 0, c: datt, ldc: S)
            if let dprefixV {
                BLAS.sgemm(transA: true, transB: false, m: P, n: HS, k: T, alpha: 1, a: A, lda: S,
                           b: dobh, ldb: C, beta: 1, c: dprefixV + h * P * HS, ldc: HS)
            }
        }
        // softmax backward, in place: datt becomes dZ (scaled by 1/√HS).
        for t in 0..<T {
            let a = A + t * S, d = datt + t * S
            let visible = P + t + 1
            let dot = RowReduce.dot(a, d, count: visible)
            for s in 0..<visible { d[s] = a[s] * (d[s] - dot) * scale }
            for s in visible..<S { d[s] = 0 }
        }
        causalTimes(datt + P, ld: S, b: kbh, ldb: C, beta: beta, c: dq + off, ldc: C, T: T, N: HS)
        causalTransposedTimes(datt + P, ld: S, b: qbh, ldb: C, beta: beta, c: dk + off, ldc: C, T: T, N: HS)
        if P > 0 {
            BLAS.sgemm(transA: false, transB: false, m: T, n: HS, k: P, alpha: 1, a: datt, lda: S,
                       b: prefixK! + h * P * HS, ldb: HS, beta: 1, c: dq + off, ldc: C)
            if let dprefixK {
                BLAS.sgemm(transA: true, transB: false, m: P, n: HS, k: T, alpha: 1, a: datt, lda: S,
                           b: qbh, ldb: C, beta: 1, c: dprefixK + h * P * HS, ldc: HS)
            }
        }
    }

    // MARK: Products with a causal (lower-triangular) T×T block

    /// Rows below which a causal product is one sgemm (splitting it would cost more calls than
    /// it saves multiplications).
    static let causalSplitRows = 32

    /// c = L·b + beta·c for L [T, T] lower-triangular (row i is zero past column i), b [T, N]:
    /// the first h = T/2 rows of c need only the first h rows of b, so they are one sgemm with
    /// k = h and the rest one with k = T — a quarter of the multiplications skipped.
    @inline(__always)
    private static func causalTimes(
        _ L: UnsafePointer<Float>, ld: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int, T: Int, N: Int
    ) {
        let h = T >= causalSplitRows ? T / 2 : 0
        if h > 0 {
            BLAS.sgemm(transA: false, transB: false, m: h, n: N, k: h, alpha: 1, a: L, lda: ld,
                       b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
        BLAS.sgemm(transA: false, transB: false, m: T - h, n: N, k: T, alpha: 1, a: L + h * ld, lda: ld,
                   b: b, ldb: ldb, beta: beta, c: c + h * ldc, ldc: ldc)
    }

    /// c = Lᵀ·b + beta·c for L as in `causalTimes`: row j of Lᵀ is zero before column j, so the
    /// last T − h rows of c need only the last T − h rows of b.
    @inline(__always)
    private static func causalTransposedTimes(
        _ L: UnsafePointer<Float>, ld: Int, b: UnsafePointer<Float>, ldb: Int, beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int, T: Int, N: Int
    ) {
        let h = T >= causalSplitRows ? T / 2 : 0
        BLAS.sgemm(transA: true, transB: false, m: h > 0 ? h : T, n: N, k: T, alpha: 1, a: L, lda: ld,
                   b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        if h > 0 {
            BLAS.sgemm(transA: true, transB: false, m: T - h, n: N, k: T - h, alpha: 1, a: L + h * ld + h, lda: ld,
                       b: b + h * ldb, ldb: ldb, beta: beta, c: c + h * ldc, ldc: ldc)
        }
    }

    /// Plain-loop reference of `forward` (tests only); `att` as in `forward`.
    static func forwardReference(
        out: UnsafeMutablePointer<Float>, att: UnsafeMutablePointer<Float>,
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
        prefixK: UnsafePointer<Float>?, prefixV: UnsafePointer<Float>?,
        B: Int, T: Int, C: Int, NH: Int, P: Int
    ) {
        let HS = C / NH, S = P + T
        let scale = scoreScale(HS)
        for b in 0..<B {
            for h in 0..<NH {
                for t in 0..<T {
                    let row = att + ((b * NH + h) * T + t) * S
                    let qt = q + (b * T + t) * C + h * HS
                    for s in 0..<S {
                        var dot: Float = 0
                        if s < P {
                            let key = prefixK! + (h * P + s) * HS
                            for i in 0..<HS { dot += qt[i] * key[i] }
                        } else if s - P <= t {
                            let key = k + (b * T + s - P) * C + h * HS
                            for i in 0..<HS { dot += qt[i] * key[i] }
                        }
                        row[s] = dot * scale
                    }
                    softmaxRow(row, visible: P + t + 1, width: S)
                    let o = out + (b * T + t) * C + h * HS
                    for i in 0..<HS {
                        var acc: Float = 0
                        for s in 0..<(P + t + 1) {
                            let value = s < P ? prefixV! + (h * P + s) * HS : v + (b * T + s - P) * C + h * HS
                            acc += row[s] * value[i]
                        }
                        o[i] = acc
                    }
                }
            }
        }
    }
}
