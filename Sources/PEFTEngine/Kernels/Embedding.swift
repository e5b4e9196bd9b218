/// Token + learned position embedding: `out[b,t,:] = wte[tokens[b,t],:] + wpe[t,:]`, or the
/// token embedding alone when there is no `wpe` (LLaMA: positions enter through RoPE).
///
/// Kept separate from the blocks so that prompt tuning can write soft-prompt rows into
/// the residual stream before the first block. Both passes split their work over `Parallel`
/// chunks (rows forward, columns backward) with results independent of the thread count.
enum Embedding {
    /// - tokens: [B, T] token ids in 0..<V
    /// - wte: [V, C], wpe: [maxT, C] (only rows 0..<T read) or nil
    /// - out: [B, T, C]
    static func forward(
        out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>,
        wte: UnsafePointer<Float>, wpe: UnsafePointer<Float>?, B: Int, T: Int, C: Int, V: Int
    ) {
        Parallel.forEachChunk(B * T, grain: 64) { _, rows in
            for row in rows {
                let b = row / T, t = row % T
                let token = Int(tokens[b * T + t])
                precondition(token >= 0 && token < V, "Embedding: token \(token) at (\(b), \(t)) outside 0..<\(V)")
                let o = out + (b * T + t) * C
                let e = wte + token * C
                if let wpe {
                    let p = wpe + t * C
                    for c in 0..<C { o[c] = e[c] + p[c] }
                } else {
                    o.update(from: e, count: C)
                }
            }
        }
    }

    /// Accumulates `dwte[token] += dout[b,t]` and `dwpe[t] += dout[b,t]`; either gradient
    /// may be nil (frozen).
    static func backward(
        dwte: UnsafeMutablePointer<Float>?, dwpe: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, tokens: UnsafePointer<Int32>, B: Int, T: Int, C: Int
    ) {
        // Split by columns: rows scatter into shared token/position rows, so each chunk owns
        // a column range and visits (b, t) in order (thread-count independent).
        Parallel.forEachChunk(C, grain: B * T >= 64 ? 16 : C) { _, columns in
            for b in 0..<B {
                for t in 0..<T {
                    let d = dout + (b * T + t) * C
                    if let dwte {
                        let g = dwte + Int(tokens[b * T + t]) * C
                        for c in columns { g[c] += d[c] }
                    }
                    if let dwpe {
                        let g = dwpe + t * C
                        for c in columns { g[c] += d[c] }
                    }
                }
            }
        }
    }
}
