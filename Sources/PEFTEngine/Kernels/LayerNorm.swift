/// Layer normalisation over the last dimension (Ba, Kiros & Hinton 2016):
/// `y = (x − μ) · rstd · w + b`, μ and σ² the mean and biased variance of the row,
/// `rstd = 1/√(σ² + ε)`, ε = 1e-5 (PyTorch's default).
///
/// `forward`/`backward` split rows (and, for the dweight/dbias reductions, columns) over
/// `Parallel` chunks; every output element keeps the serial loop's order of operations, so
/// they are bit-identical to `forwardReference`/`backwardReference`, the plain serial loops.
enum LayerNorm {
    static let epsilon: Float = 1e-5

    /// Rows per chunk below which a call stays on one thread.
    static let grain = 32

    /// - x, out: [N, C] (N = B·T rows); weight, bias: [C]
    /// - mean, rstd: [N], cached for backward
    static func forward(
        out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, N: Int, C: Int
    ) {
        Parallel.forEachChunk(N, grain: grain) { _, rows in
            forwardRows(rows, out: out, mean: mean, rstd: rstd, x: x, weight: weight, bias: bias, C: C)
        }
    }

    /// Accumulates dx (always), dweight and dbias (when non-nil).
    ///
    /// With x̂ = (x − μ)·rstd and g = dout ⊙ w:
    /// `dx = rstd · (g − mean(g) − x̂ · mean(g ⊙ x̂))`, `dw = Σ_rows dout ⊙ x̂`, `db = Σ_rows dout`.
    /// dx is split by rows; dw and db by columns, each column summing its rows in order.
    static func backward(
        dx: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, N: Int, C: Int
    ) {
        Parallel.forEachChunk(N, grain: grain) { _, rows in
            backwardInputRows(rows, dx: dx, dout: dout, x: x, weight: weight, mean: mean, rstd: rstd, C: C)
        }
        if dweight == nil && dbias == nil { return }
        Parallel.forEachChunk(C, grain: N >= grain ? 8 : C) { _, columns in
            backwardParameterColumns(columns, dweight: dweight, dbias: dbias, dout: dout, x: x, mean: mean, rstd: rstd, N: N, C: C)
        }
    }

    /// Plain serial loop of `forward` (the reference it is tested against).
    static func forwardReference(
        out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, N: Int, C: Int
    ) {
        forwardRows(0..<N, out: out, mean: mean, rstd: rstd, x: x, weight: weight, bias: bias, C: C)
    }

    /// Plain serial loop of `backward` (the reference it is tested against).
    static func backwardReference(
        dx: UnsafeMutablePointer<Float>, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, N: Int, C: Int
    ) {
        backwardInputRows(0..<N, dx: dx, dout: dout, x: x, weight: weight, mean: mean, rstd: rstd, C: C)
        backwardParameterColumns(0..<C, dweight: dweight, dbias: dbias, dout: dout, x: x, mean: mean, rstd: rstd, N: N, C: C)
    }

    // MARK: Loops over a range of rows / columns

    @inline(__always)
    private static func forwardRows(
        _ rows: Range<Int>, out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, C: Int
    ) {
        for n in rows {
            let xr = x + n * C
            let m = RowReduce.sum(xr, count: C) / Float(C)
            let sq = RowReduce.squaredDeviations(xr, from: m, count: C)
            let s = 1 / (sq / Float(C) + epsilon).squareRoot()
            let o = out + n * C
            for c in 0..<C { o[c] = (xr[c] - m) * s * weight[c] + bias[c] }
            mean[n] = m
            rstd[n] = s
        }
    }

    @inline(__always)
    private static func backwardInputRows(
        _ rows: Range<Int>, dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, x: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, C: Int
    ) {
        for n in rows {
            let xr = x + n * C, d = dout + n * C, dxr = dx + n * C
            let m = mean[n], s = rstd[n]
            // Σ g and Σ g·x̂ with g = dout ⊙ w, x̂ = (x − μ)·rstd, in eight lanes (see RowReduce).
            var gAcc = SIMD8<Float>(), gxAcc = SIMD8<Float>()
            var c = 0
            while c + 8 <= C {
                let xv = UnsafeRawPointer(xr + c).loadUnaligned(as: SIMD8<Float>.self)
                let g = UnsafeRawPointer(d + c).loadUnaligned(as: SIMD8<Float>.self)
                    * UnsafeRawPointer(weight + c).loadUnaligned(as: SIMD8<Float>.self)
                gAcc += g
                gxAcc += g * ((xv - m) * s)
                c += 8
            }
            var gMean = gAcc.sum(), gxMean = gxAcc.sum()
            while c < C {
                let xhat = (xr[c] - m) * s
                let g = d[c] * weight[c]
                gMean += g
                gxMean += g * xhat
                c += 1
            }
            gMean /= Float(C)
            gxMean /= Float(C)
            for c in 0..<C {
                let xhat = (xr[c] - m) * s
                dxr[c] += s * (d[c] * weight[c] - gMean - xhat * gxMean)
            }
        }
    }

    /// dweight[c] and dbias[c] for c in `columns`, each summed over rows 0..<N in order.
    @inline(__always)
    private static func backwardParameterColumns(
        _ columns: Range<Int>, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        N: Int, C: Int
    ) {
        for n in 0..<N {
            let xr = x + n * C, d = dout + n * C
            let m = mean[n], s = rstd[n]
            if let dweight {
                for c in columns { dweight[c] += d[c] * (xr[c] - m) * s }
            }
            if let dbias {
                for c in columns { dbias[c] += d[c] }
            }
        }
    }
}
