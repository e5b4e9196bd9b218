import Foundation

/// Root-mean-square normalisation over the last dimension (Zhang & Sennrich 2019; LLaMA's
/// `LlamaRMSNorm`): `y = x · rstd · w`, `rstd = 1/√(mean(x²) + ε)`, in Float32 as transformers
/// computes it. No mean is subtracted and there is no bias.
enum RMSNorm {
    /// Rows per chunk below which a call stays on one thread.
    static let grain = 32

    /// - x, out: [N, C]; weight: [C]; rstd: [N], cached for backward.
    static func forward(
        out: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, N: Int, C: Int, epsilon: Float
    ) {
        Parallel.forEachChunk(N, grain: grain) { _, rows in
            for n in rows {
                let xr = x + n * C, o = out + n * C
                var sq: Float = 0
                for c in 0..<C { sq += xr[c] * xr[c] }
                let s = 1 / (sq / Float(C) + epsilon).squareRoot()
                for c in 0..<C { o[c] = weight[c] * (xr[c] * s) }
                rstd[n] = s
            }
        }
    }

    /// Accumulates dx (always) and dweight (when non-nil). With x̂ = x·rstd and g = dout ⊙ w:
    /// `dx = rstd · (g − x̂ · mean(g ⊙ x̂))`, `dw = Σ_rows dout ⊙ x̂` (each column summing its
    /// rows in order, so the split over threads changes no bit).
    static func backward(
        dx: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        rstd: UnsafePointer<Float>, N: Int, C: Int
    ) {
        Parallel.forEachChunk(N, grain: grain) { _, rows in
            for n in rows {
                let xr = x + n * C, d = dout + n * C, s = rstd[n]
                var dot: Float = 0
                for c in 0..<C { dot += d[c] * weight[c] * xr[c] * s }
                let m = dot / Float(C)
                let out = dx + n * C
                for c in 0..<C { out[c] += s * (d[c] * weight[c] - xr[c] * s * m) }
            }
        }
        guard let dweight else { return }
        Parallel.forEachChunk(C, grain: N >= grain ? 8 : C) { _, columns in
            for c in columns {
                var acc: Float = 0
                for n in 0..<N { acc += dout[n * C + c] * x[n * C + c] * rstd[n] }
                dweight[c] += acc
            }
        }
    }
}
