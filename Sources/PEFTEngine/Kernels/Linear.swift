/// Fully connected layer, PyTorch convention: `y = x · Wᵀ + b`, W stored [OC, IC] (out, in).
///
/// The fast path is one sgemm over all M = B·T rows; `forwardReference`/`backwardReference`
/// are the plain loops it is tested against.
/// The bias copy and bias-gradient sums are split over `Parallel` chunks (rows, resp.
/// columns that each keep the serial row order), so results do not depend on the thread count.
enum Linear {
    /// Rows below which the bias loops stay on one thread.
    static let rowGrain = 64

    /// - x: [M, IC], weight: [OC, IC], bias: [OC] or nil, out: [M, OC] (overwritten)
    static func forward(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, M: Int, IC: Int, OC: Int
    ) {
        if let bias {
            Parallel.forEachChunk(M, grain: rowGrain) { _, rows in
                for m in rows { (out + m * OC).update(from: bias, count: OC) }
            }
        }
        BLAS.sgemm(
            transA: false, transB: true, m: M, n: OC, k: IC, alpha: 1, a: x, lda: IC,
            b: weight, ldb: IC, beta: bias == nil ? 0 : 1, c: out, ldc: OC)
    }

    /// Accumulates `dx += dout · W`, and, when non-nil, `dweight += doutᵀ · x`,
    /// `dbias += Σ_rows dout`. Passing nil for dweight is how frozen weights skip the
    /// (M·IC·OC-flop) weight gradient; nil dx skips the input gradient.
    /// `accumulateInput` false: dx is overwritten (`dx = dout · W`, a beta = 0 sgemm), so a
    /// caller whose dx holds nothing yet need not zero it first.
    static func backward(
        dx: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, M: Int, IC: Int, OC: Int,
        accumulateInput: Bool = true
    ) {
        if let dx {
            BLAS.sgemm(
                transA: false, transB: false, m: M, n: IC, k: OC, alpha: 1, a: dout, lda: OC,
                b: weight, ldb: IC, beta: accumulateInput ? 1 : 0, c: dx, ldc: IC)
        }
        if let dweight {
            BLAS.sgemm(
                transA: true, transB: false, m: OC, n: IC, k: M, alpha: 1, a: dout, lda: OC,
                b: x, ldb: IC, beta: 1, c: dweight, ldc: IC)
        }
        if let dbias {
            // Split by columns; each column sums the rows in order (thread-count independent).
            Parallel.forEachChunk(OC, grain: M >= rowGrain ? 16 : OC) { _, columns in
                for m in 0..<M {
                    let d = dout + m * OC
                    for o in columns { dbias[o] += d[o] }
                }
            }
        }
    }

    /// Plain-loop reference of `forward` (tests only).
    static func forwardReference(
        out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        bias: UnsafePointer<Float>?, M: Int, IC: Int, OC: Int
    ) {
        for m in 0..<M {
            for o in 0..<OC {
                var acc: Float = bias?[o] ?? 0
                for i in 0..<IC { acc += x[m * IC + i] * weight[o * IC + i] }
                out[m * OC + o] = acc
            }
        }
    }

    /// Plain-loop reference of `backward` (tests only).
    static func backwardReference(
        dx: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>?, dbias: UnsafeMutablePointer<Float>?,
        dout: UnsafePointer<Float>, x: UnsafePointer<Float>, weight: UnsafePointer<Float>, M: Int, IC: Int, OC: Int
    ) {
        for m in 0..<M {
            for o in 0..<OC {
                let d = dout[m * OC + o]
                for i in 0..<IC {
                    dx?[m * IC + i] += d * weight[o * IC + i]
                    dweight?[o * IC + i] += d * x[m * IC + i]
                }
                dbias?[o] += d
            }
        }
    }
}
