/// Token + position embedding with P soft-prompt rows in front (prompt tuning, Lester,
/// Al-Rfou & Constant 2021): each of the B sequences becomes P + T positions,
///
///     out[b, p,     :] = prompt[p, :]          + wpe[p, :]        for p < P
///     out[b, P + t, :] = wte[tokens[b, t], :]  + wpe[P + t, :]    for t < T
///
/// Positions count the virtual tokens, as in HF GPT-2 under peft (peft concatenates the
/// prompt to `inputs_embeds`, and GPT-2 numbers the positions of the whole sequence).
/// With P = 0 this is `Embedding.forward`; the model's soft-prompt pass calls it with B = 1,
/// T = 0 (the prompt rows alone, `TransformerModel+SoftPrompt.swift`).
extension Embedding {
    /// - tokens: [B, T] token ids in 0..<V (the real tokens only)
    /// - prompt: [P, C]; wte: [V, C]; wpe: [maxT, C] (rows 0..<P+T read), or nil for no
    ///   position term (LLaMA)
    /// - out: [B, P + T, C] (overwritten)
    static func forward(
        out: UnsafeMutablePointer<Float>, tokens: UnsafePointer<Int32>, prompt: UnsafePointer<Float>,
        wte: UnsafePointer<Float>, wpe: UnsafePointer<Float>?, B: Int, T: Int, P: Int, C: Int, V: Int
    ) {
        let S = P + T
        @inline(__always) func position(_ s: Int, _ c: Int) -> Float { wpe.map { $0[s * C + c] } ?? 0 }
        for b in 0..<B {
            for p in 0..<P {
                let o = out + (b * S + p) * C, e = prompt + p * C
                for c in 0..<C { o[c] = e[c] + position(p, c) }
            }
            for t in 0..<T {
                let token = Int(tokens[b * T + t])
                precondition(token >= 0 && token < V, "Embedding: token \(token) at (\(b), \(t)) outside 0..<\(V)")
                let o = out + (b * S + P + t) * C, e = wte + token * C
                for c in 0..<C { o[c] = e[c] + position(P + t, c) }
            }
        }
    }

    /// Accumulates `dprompt[p] += Σ_b dout[b, p]`, `dwte[tokens[b,t]] += dout[b, P+t]` and
    /// `dwpe[s] += Σ_b dout[b, s]`; any gradient may be nil (frozen).
    /// - dout: [B, P + T, C]; dprompt: [P, C]
    static func backward(
        dprompt: UnsafeMutablePointer<Float>?, dwte: UnsafeMutablePointer<Float>?, dwpe: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, tokens: UnsafePointer<Int32>, B: Int, T: Int, P: Int, C: Int
    ) {
        let S = P + T
        for b in 0..<B {
            if let dprompt {
                for p in 0..<P {
                    let d = dout + (b * S + p) * C, g = dprompt + p * C
                    for c in 0..<C { g[c] += d[c] }
                }
            }
            if let dwte {
                for t in 0..<T {
                    let d = dout + (b * S + P + t) * C, g = dwte + Int(tokens[b * T + t]) * C
                    for c in 0..<C { g[c] += d[c] }
                }
            }
            if let dwpe {
                for s in 0..<S {
                    let d = dout + (b * S + s) * C, g = dwpe + s * C
                    for c in 0..<C { g[c] += d[c] }
                }
            }
        }
    }
}
