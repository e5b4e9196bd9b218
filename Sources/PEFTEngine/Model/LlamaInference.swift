import Foundation

/// The forward pass of a LLaMA-family decoder (Touvron et al. 2023) for evaluation and greedy
/// generation: token embedding; per layer, x += o_proj(attention(RoPE(q), RoPE(k), v)) on
/// RMSNorm(x), then x += down_proj(SwiGLU(gate_proj, up_proj)) on RMSNorm(x); a final RMSNorm and
/// the (tied or own) output head. Grouped-query attention shares each key/value head among
/// heads/kvHeads query heads; causal softmax in Float32.
///
/// Weights are held by Hugging Face names ([out, in] matrices). Inference only: the training
/// engine's LLaMA block (with the methods' hooks and the backward pass) is not built yet.
public final class LlamaInference {
    public struct Config: Equatable, Sendable {
        public var vocab: Int, hidden: Int, layers: Int, heads: Int, kvHeads: Int, intermediate: Int
        public var ropeTheta: Double, rmsEps: Float, tiedEmbeddings: Bool
        public var headDim: Int { hidden / heads }

        public init(vocab: Int, hidden: Int, layers: Int, heads: Int, kvHeads: Int, intermediate: Int,
                    ropeTheta: Double, rmsEps: Float, tiedEmbeddings: Bool) {
            self.vocab = vocab; self.hidden = hidden; self.layers = layers; self.heads = heads; self.kvHeads = kvHeads
            self.intermediate = intermediate; self.ropeTheta = ropeTheta; self.rmsEps = rmsEps; self.tiedEmbeddings = tiedEmbeddings
        }
    }

    public let config: Config
    let weights: [String: [Float]]
    let maxPositions: Int
    let rope: RotaryEmbedding

    /// - Parameter weight: the HF tensor of each name (`model.layers.N.self_attn.q_proj.weight`, …).
    public init(config: Config, maxPositions: Int = 2048, weight: (String) throws -> Tensor) throws {
        self.config = config
        self.maxPositions = maxPositions
        var w: [String: [Float]] = [:]
        func load(_ name: String, _ shape: [Int]) throws {
            let t = try weight(name)
            guard t.shape == shape else { throw ModelConfigError.wrongTensorShape(name: name, shape: t.shape, expected: shape) }
            w[name] = t.storage
        }
        let c = config, kv = c.kvHeads * c.headDim
        try load("model.embed_tokens.weight", [c.vocab, c.hidden])
        try load("model.norm.weight", [c.hidden])
        if !c.tiedEmbeddings { try load("lm_head.weight", [c.vocab, c.hidden]) }
        for l in 0..<c.layers {
            let p = "model.layers.\(l)."
            try load(p + "input_layernorm.weight", [c.hidden])
            try load(p + "post_attention_layernorm.weight", [c.hidden])
            try load(p + "self_attn.q_proj.weight", [c.hidden, c.hidden])
            try load(p + "self_attn.k_proj.weight", [kv, c.hidden])
            try load(p + "self_attn.v_proj.weight", [kv, c.hidden])
            try load(p + "self_attn.o_proj.weight", [c.hidden, c.hidden])
            try load(p + "mlp.gate_proj.weight", [c.intermediate, c.hidden])
            try load(p + "mlp.up_proj.weight", [c.intermediate, c.hidden])
            try load(p + "mlp.down_proj.weight", [c.hidden, c.intermediate])
        }
        weights = w
        rope = RotaryEmbedding(headDim: c.headDim, maxPositions: maxPositions, base: c.ropeTheta)
    }

    /// Logits [T, vocab] of every position of `tokens`.
    public func logits(_ tokens: [Int]) -> [Float] {
        let c = config, T = tokens.count, d = c.hidden, hd = c.headDim, kvWidth = c.kvHeads * hd
        precondition(T > 0 && T <= maxPositions, "LlamaInference.logits: \(T) tokens (at most \(maxPositions))")
        precondition(tokens.allSatisfy { $0 >= 0 && $0 < c.vocab }, "LlamaInference.logits: token outside 0..<\(c.vocab)")
        var x = [Float](repeating: 0, count: T * d)
        let embedding = weights["model.embed_tokens.weight"]!
        for (t, id) in tokens.enumerated() { for j in 0..<d { x[t * d + j] = embedding[id * d + j] } }
        var h = [Float](repeating: 0, count: T * d), rstd = [Float](repeating: 0, count: T)
        var q = [Float](repeating: 0, count: T * d), k = [Float](repeating: 0, count: T * kvWidth), v = k
        var qr = q, kr = k, kFull = q, vFull = q, attention = q, projected = q
        var gate = [Float](repeating: 0, count: T * c.intermediate), up = gate, act = gate
        var scores = [Float](repeating: 0, count: T * T)
        func linear(_ out: inout [Float], _ input: [Float], _ name: String, rows: Int, inDim: Int, outDim: Int) {
            let w = weights[name]!
            out.withUnsafeMutableBufferPointer { o in
                input.withUnsafeBufferPointer { i in
                    w.withUnsafeBufferPointer { wb in
                        BLAS.sgemm(transA: false, transB: true, m: rows, n: outDim, k: inDim, alpha: 1, a: i.baseAddress!, lda: inDim,
                                   b: wb.baseAddress!, ldb: inDim, beta: 0, c: o.baseAddress!, ldc: outDim)
                    }
                }
            }
        }
        let scale = 1 / Float(hd).squareRoot()
        for l in 0..<c.layers {
            let p = "model.layers.\(l)."
            RMSNorm.forward(out: &h, rstd: &rstd, x: x, weight: weights[p + "input_layernorm.weight"]!, N: T, C: d, epsilon: c.rmsEps)
            linear(&q, h, p + "self_attn.q_proj.weight", rows: T, inDim: d, outDim: d)
            linear(&k, h, p + "self_attn.k_proj.weight", rows: T, inDim: d, outDim: kvWidth)
            linear(&v, h, p + "self_attn.v_proj.weight", rows: T, inDim: d, outDim: kvWidth)
            rope.forward(out: &qr, x: q, rows: T, T: T, heads: c.heads)
            rope.forward(out: &kr, x: k, rows: T, T: T, heads: c.kvHeads)
            RepeatKV.forward(out: &kFull, x: kr, rows: T, kvHeads: c.kvHeads, heads: c.heads, headDim: hd)
            RepeatKV.forward(out: &vFull, x: v, rows: T, kvHeads: c.kvHeads, heads: c.heads, headDim: hd)
            for head in 0..<c.heads {
                // scores = q_h k_hᵀ · scale, causal softmax, out_h = A v_h (row stride d).
                qr.withUnsafeBufferPointer { qb in
                    kFull.withUnsafeBufferPointer { kb in
                        scores.withUnsafeMutableBufferPointer { sb in
                            BLAS.sgemm(transA: false, transB: true, m: T, n: T, k: hd, alpha: scale, a: qb.baseAddress! + head * hd, lda: d,
                                       b: kb.baseAddress! + head * hd, ldb: d, beta: 0, c: sb.baseAddress!, ldc: T)
                        }
                    }
                }
                for i in 0..<T {
                    var m = -Float.infinity
                    for j in 0...i { m = max(m, scores[i * T + j]) }
                    var sum: Float = 0
                    for j in 0...i { let e = Foundation.exp(scores[i * T + j] - m); scores[i * T + j] = e; sum += e }
                    for j in 0...i { scores[i * T + j] /= sum }
                    for j in (i + 1)..<max(T, i + 1) { scores[i * T + j] = 0 }
                }
                scores.withUnsafeBufferPointer { sb in
                    vFull.withUnsafeBufferPointer { vb in
                        attention.withUnsafeMutableBufferPointer { ab in
                            BLAS.sgemm(transA: false, transB: false, m: T, n: hd, k: T, alpha: 1, a: sb.baseAddress!, lda: T,
                                       b: vb.baseAddress! + head * hd, ldb: d, beta: 0, c: ab.baseAddress! + head * hd, ldc: d)
                        }
                    }
                }
            }
            linear(&projected, attention, p + "self_attn.o_proj.weight", rows: T, inDim: d, outDim: d)
            for i in 0..<(T * d) { x[i] += projected[i] }
            RMSNorm.forward(out: &h, rstd: &rstd, x: x, weight: weights[p + "post_attention_layernorm.weight"]!, N: T, C: d, epsilon: c.rmsEps)
            linear(&gate, h, p + "mlp.gate_proj.weight", rows: T, inDim: d, outDim: c.intermediate)
            linear(&up, h, p + "mlp.up_proj.weight", rows: T, inDim: d, outDim: c.intermediate)
            SwiGLU.forward(out: &act, gate: gate, up: up, N: T * c.intermediate)
            linear(&projected, act, p + "mlp.down_proj.weight", rows: T, inDim: c.intermediate, outDim: d)
            for i in 0..<(T * d) { x[i] += projected[i] }
        }
        RMSNorm.forward(out: &h, rstd: &rstd, x: x, weight: weights["model.norm.weight"]!, N: T, C: d, epsilon: c.rmsEps)
        var out = [Float](repeating: 0, count: T * c.vocab)
        linear(&out, h, c.tiedEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight", rows: T, inDim: d, outDim: c.vocab)
        return out
    }

    /// Mean negative log-likelihood (nats) of tokens 1…T−1 given their prefixes, and the count.
    public func meanNLL(_ tokens: [Int]) -> (nll: Double, scored: Int) {
        guard tokens.count >= 2 else { return (0, 0) }
        let z = logits(tokens), V = config.vocab
        var total = 0.0
        for t in 0..<(tokens.count - 1) {
            let row = t * V
            var m = -Float.infinity
            for j in 0..<V { m = max(m, z[row + j]) }
            var sum = 0.0
            for j in 0..<V { sum += Foundation.exp(Double(z[row + j] - m)) }
            total += Double(m) + Foundation.log(sum) - Double(z[row + tokens[t + 1]])
        }
        return (total / Double(tokens.count - 1), tokens.count - 1)
    }

    /// Greedy continuation: up to `maxNewTokens` argmax tokens, stopping after any of `stop`.
    public func generate(_ prompt: [Int], maxNewTokens: Int, stop: Set<Int>) -> [Int] {
        var tokens = prompt, out: [Int] = []
        for _ in 0..<maxNewTokens where tokens.count < maxPositions {
            let z = logits(tokens), V = config.vocab, row = (tokens.count - 1) * V
            var best = 0
            for j in 1..<V where z[row + j] > z[row + best] { best = j }
            tokens.append(best)
            out.append(best)
            if stop.contains(best) { break }
        }
        return out
    }
}
