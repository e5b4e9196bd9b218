import Foundation

/// Rotary position embedding (Su et al. 2021, "RoFormer") in the rotate-half convention of
/// transformers' LLaMA: for a head vector v of even dimension d at position p, and i < d/2,
///
///     v'ᵢ       = vᵢ · cos(p·θᵢ) − v_{i+d/2} · sin(p·θᵢ)
///     v'_{i+d/2} = v_{i+d/2} · cos(p·θᵢ) + vᵢ · sin(p·θᵢ),     θᵢ = base^(−2i/d)
///
/// (θᵢ and p·θᵢ in Float32, as `LlamaRotaryEmbedding` computes `inv_freq` and its outer product
/// with the positions.) The rotation is orthogonal, so backward rotates by −p·θᵢ.
struct RotaryEmbedding {
    let headDim: Int
    let maxPositions: Int
    /// cos and sin of p·θᵢ: [maxPositions, headDim/2].
    let cos: [Float]
    let sin: [Float]

    init(headDim: Int, maxPositions: Int, base: Double) {
        precondition(headDim > 0 && headDim % 2 == 0, "RotaryEmbedding: head dimension \(headDim) must be even")
        self.headDim = headDim
        self.maxPositions = maxPositions
        let half = headDim / 2
        let inverseFrequency = (0..<half).map { i in Float(1.0 / pow(base, Double(2 * i) / Double(headDim))) }
        var c = [Float](repeating: 0, count: maxPositions * half), s = c
        for p in 0..<maxPositions {
            for i in 0..<half {
                let angle = Float(p) * inverseFrequency[i]
                c[p * half + i] = Foundation.cos(angle)
                s[p * half + i] = Foundation.sin(angle)
            }
        }
        cos = c
        sin = s
    }

    /// Rotates x [B·T, heads·headDim] (row n at position n mod T, plus `offset`) into out.
    func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, rows: Int, T: Int, heads: Int, offset: Int = 0) {
        apply(out: out, x: x, rows: rows, T: T, heads: heads, offset: offset, sign: 1, accumulate: false)
    }

    /// Accumulates into dx (or, with `accumulate` false, writes) the gradient of `forward`:
    /// dout rotated back.
    func backward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, rows: Int, T: Int, heads: Int, offset: Int = 0,
                  accumulate: Bool = true) {
        apply(out: dx, x: dout, rows: rows, T: T, heads: heads, offset: offset, sign: -1, accumulate: accumulate)
    }

    private func apply(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, rows: Int, T: Int, heads: Int,
                       offset: Int, sign: Float, accumulate: Bool) {
        let half = headDim / 2, width = heads * headDim
        precondition(T + offset <= maxPositions, "RotaryEmbedding: position \(T + offset - 1) beyond the table's \(maxPositions)")
        cos.withUnsafeBufferPointer { cb in
            sin.withUnsafeBufferPointer { sb in
                let cosines = cb.baseAddress!, sines = sb.baseAddress!
                // Rows are independent: chunks over rows change no bit.
                Parallel.forEachChunk(rows, grain: 64) { _, chunk in
                    for n in chunk {
                        let p = n % T + offset
                        let c = cosines + p * half, s = sines + p * half
                        for h in 0..<heads {
                            let v = x + n * width + h * headDim, o = out + n * width + h * headDim
                            for i in 0..<half {
                                let a = v[i], b = v[i + half], si = sign * s[i]
                                let ra = a * c[i] - b * si, rb = b * c[i] + a * si
                                if accumulate { o[i] += ra; o[i + half] += rb } else { o[i] = ra; o[i + half] = rb }
                            }
                        }
                    }
                }
            }
        }
    }
}
