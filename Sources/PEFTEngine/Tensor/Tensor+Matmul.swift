/// Matrix products of rank-2 tensors: `C = op(A) · op(B)`, with op(X) = X or Xᵀ.
///
/// Shapes (row-major, as stored):
/// - A is [M, K], or [K, M] when `transposeA`;
/// - B is [K, N], or [N, K] when `transposeB`;
/// - C is [M, N], with C[i, j] = Σₚ op(A)[i, p] · op(B)[p, j].
///
/// `matmul` runs OpenBLAS `sgemm` (through `BLAS.sgemm`); `matmulReference` is the plain
/// triple loop it is tested against. K = 0 gives a zero [M, N] tensor (the empty sum).
extension Tensor {
    /// C = op(A) · op(B) through `BLAS.sgemm`. Shapes as in the extension comment.
    public static func matmul(
        _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false
    ) -> Tensor {
        let (m, n, k) = productDimensions(a, b, transposeA: transposeA, transposeB: transposeB)
        var c = Tensor(shape: [m, n])
        if m == 0 || n == 0 || k == 0 { return c }
        a.storage.withUnsafeBufferPointer { aBuf in
            b.storage.withUnsafeBufferPointer { bBuf in
                c.storage.withUnsafeMutableBufferPointer { cBuf in
                    BLAS.sgemm(
                        transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                        alpha: 1, a: aBuf.baseAddress!, lda: a.shape[1],
                        b: bBuf.baseAddress!, ldb: b.shape[1],
                        beta: 0, c: cBuf.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }

    /// The algorithmic reference for `matmul`: a plain triple loop accumulating in Double.
    public static func matmulReference(
        _ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false
    ) -> Tensor {
        let (m, n, k) = productDimensions(a, b, transposeA: transposeA, transposeB: transposeB)
        var c = Tensor(shape: [m, n])
        let lda = a.shape[1], ldb = b.shape[1]
        a.storage.withUnsafeBufferPointer { A in
            b.storage.withUnsafeBufferPointer { B in
                c.storage.withUnsafeMutableBufferPointer { C in
                    for i in 0..<m {
                        for j in 0..<n {
                            var acc = 0.0
                            for p in 0..<k {
                                let aip = transposeA ? A[p * lda + i] : A[i * lda + p]
                                let bpj = transposeB ? B[j * ldb + p] : B[p * ldb + j]
                                acc += Double(aip) * Double(bpj)
                            }
                            C[i * n + j] = Float(acc)
                        }
                    }
                }
            }
        }
        return c
    }

    /// (M, N, K) of op(A) · op(B) for rank-2 operands; traps on a rank or inner-size mismatch.
    static func productDimensions(
        _ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool
    ) -> (m: Int, n: Int, k: Int) {
        precondition(
            a.rank == 2 && b.rank == 2,
            "matmul: needs rank-2 operands, got shapes \(a.shape) and \(b.shape)")
        let m = transposeA ? a.shape[1] : a.shape[0]
        let kA = transposeA ? a.shape[0] : a.shape[1]
        let kB = transposeB ? b.shape[1] : b.shape[0]
        let n = transposeB ? b.shape[0] : b.shape[1]
        precondition(
            kA == kB,
            "matmul: inner sizes differ: A \(a.shape)\(transposeA ? "ᵀ" : "") has K=\(kA), "
                + "B \(b.shape)\(transposeB ? "ᵀ" : "") has K=\(kB)")
        return (m, n, kA)
    }
}
