/// Layer normalisation over the last dimension (Ba, Kiros & Hinton 2016):
/// `y = (x − μ) · rstd · w + b`, μ and σ² the mean and biased variance of the row,
/// `rstd = 1/√(σ² + ε)`, ε = 1e-5 (PyTorch's default).
enum LayerNorm {
    static let epsilon: Float = 1e-5

    /// - x, out: [N, C] (N = B·T rows); weight, bias: [C]
    /// - mean, rstd: [N], cached for backward
    static func forward(
        out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, N: Int, C: Int
    ) {
        for n in 0..<N {
            let xr = x + n * C
            var sum: Float = 0
            for c in 0..<C { sum += xr[c] }
            let m = sum / Float(C)
            var sq: Float = 0
            for c in 0..<C { let d = xr[c] - m; sq += d * d }
            let s = 1 / (sq / Float(C) + epsilon).squareRoot()
            let o = out + n * C
            for c in 0..<C { o[c] = (xr[c] - m) * s * weight[c] + bias[c] }
            mean[n] = m
            rstd[n] = s
        }
    }

    /// Accumulates dx (always), dweight and dbias (when non-nil).
    ///
    /// With x̂ = (x − μ)·rstd and g = dout ⊙ w:
    /// `dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂))`, `dw = Σ_rows dout ⊙ x̂`, `db = Σ_rows dout`.
    static func backward(
        dx: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, N: Int, C: Int
    ) {
        for n in 0..<N {
            let xr = x + n * C, d = dout + n * C, dxr = dx + n * C
            let m = mean[n], s = rstd[n]
            var gMean: Float = 0, gxMean: Float = 0
            for c in 0..<C {
                let xhat = (xr[c] - m) * s
                let g = d[c] * weight[c]
                gMean += g
                gxMean += g * xhat
            }
            gMean /= Float(C)
            gxMean /= Float(C)
            for c in 0..<C {
                let xhat = (xr[c] - m) * s
                dxr[c] += s * (d[c] * weight[c] - gMean - xhat * gxMean)
            }
            if let dweight {
                for c in 0..<C { dweight[c] += d[c] * (xr[c] - m) * s }
            }
            if let dbias {
                for c in 0..<C { dbias[c] += d[c] }
            }
        }
    }
}
