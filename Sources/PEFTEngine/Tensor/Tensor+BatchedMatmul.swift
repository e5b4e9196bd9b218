/// Batched matrix products of rank-3 tensors: `C[b] = op(A[b]) · op(B[b])` for every batch item b.
///
/// Shapes (row-major, as stored):
/// - A is [batch, M, K], or [batch, K, M] when `transposeA`;
/// - B is [batch, K, N], or [batch, N, K] when `transposeB`;
/// - C is [batch, M, N].
///
/// `batchedMatmul` issues one `BLAS.sgemm` per batch item on pointer offsets into the three
/// buffers (no copies); `batchedMatmulReference` is the plain loop it is tested against.
extension Tensor {
    /// C[b] = op(A[b]) · op(B[b]) through one `BLAS.sgemm` per batch item.
    public static func batchedMatmul(
        _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false
    ) -> Tensor {
        let (batch, m, n, k) = batchedProductDimensions(
            a, b, transposeA: transposeA, transposeB: transposeB)
        var c = Tensor(shape: [batch, m, n])
        if batch == 0 || m == 0 || n == 0 || k == 0 { return c }
        let lda = a.shape[2], ldb = b.shape[2]
        let aStride = a.shape[1] * a.shape[2], bStride = b.shape[1] * b.shape[2], cStride = m * n
        a.storage.withUnsafeBufferPointer { aBuf in
            b.storage.withUnsafeBufferPointer { bBuf in
                c.storage.withUnsafeMutableBufferPointer { cBuf in
                    let A = aBuf.baseAddress!, B = bBuf.baseAddress!, C = cBuf.baseAddress!
                    for item in 0..<batch {
                        BLAS.sgemm(
                            transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                            alpha: 1, a: A + item * aStride, lda: lda,
                            b: B + item * bStride, ldb: ldb,
                            beta: 0, c: C + item * cStride, ldc: n)
                    }
                }
            }
        }
        return c
    }

    /// The algorithmic reference for `batchedMatmul`: a plain quadruple loop accumulating in Double.
    public static func batchedMatmulReference(
        _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false
    ) -> Tensor {
        let (batch, m, n, k) = batchedProductDimensions(
            a, b, transposeA: transposeA, transposeB: transposeB)
        var c = Tensor(shape: [batch, m, n])
        let lda = a.shape[2], ldb = b.shape[2]
        let aStride = a.shape[1] * a.shape[2], bStride = b.shape[1] * b.shape[2], cStride = m * n
        a.storage.withUnsafeBufferPointer { A in
            b.storage.withUnsafeBufferPointer { B in
                c.storage.withUnsafeMutableBufferPointer { C in
                    for item in 0..<batch {
                        let a0 = item * aStride, b0 = item * bStride, c0 = item * cStride
                        for i in 0..<m {
                            for j in 0..<n {
                                var acc = 0.0
                                for p in 0..<k {
                                    let aip = transposeA ? A[a0 + p * lda + i] : A[a0 + i * lda + p]
                                    let bpj = transposeB ? B[b0 + j * ldb + p] : B[b0 + p * ldb + j]
                                    acc += Double(aip) * Double(bpj)
                                }
                                C[c0 + i * n + j] = Float(acc)
                            }
                        }
                    }
                }
            }
        }
        return c
    }

    /// (batch, M, N, K) of a batched product; traps on rank, batch or inner-size mismatch.
    static func batchedProductDimensions(
        _ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool
    ) -> (batch: Int, m: Int, n: Int, k: Int) {
        precondition(
            a.rank == 3 && b.rank == 3,
            "batchedMatmul: needs rank-3 operands, got shapes \(a.shape) and \(b.shape)")
        precondition(
            a.shape[0] == b.shape[0],
            "batchedMatmul: batch sizes differ: A \(a.shape), B \(b.shape)")
        let m = transposeA ? a.shape[2] : a.shape[1]
        let kA = transposeA ? a.shape[1] : a.shape[2]
        let kB = transposeB ? b.shape[2] : b.shape[1]
        let n = transposeB ? b.shape[1] : b.shape[2]
        precondition(
            kA == kB,
            "batchedMatmul: inner sizes differ: A \(a.shape)\(transposeA ? "ᵀ" : "") has K=\(kA), "
                + "B \(b.shape)\(transposeB ? "ᵀ" : "") has K=\(kB)")
        return (a.shape[0], m, n, kA)
    }
}
