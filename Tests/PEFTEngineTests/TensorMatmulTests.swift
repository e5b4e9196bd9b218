import Testing
@testable import PEFTEngine

/// sgemm-backed products agree with the plain-loop references on odd shapes.
@Suite("Tensor matmul")
struct TensorMatmulTests {
    /// Allowed |BLAS − reference| for inputs in [−1, 1): a Float32 dot product of length k
    /// carries a rounding error of at most about k·ε·Σ|aᵢbᵢ| (Higham, ch. 3); we allow 4·k·ε,
    /// far above the typical √k growth and far below any indexing mistake (O(1) errors).
    static func tolerance(k: Int) -> Float { 4 * Float(Swift.max(k, 1)) * Float.ulpOfOne }

    /// (M, K, N) triples: 1×1×1, rows and columns of one, primes, sizes that are not
    /// multiples of 16 (OpenBLAS's block sizes), and one large enough to use blocked kernels.
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (3, 5, 7), (1, 13, 1), (1, 33, 17), (17, 1, 19), (31, 47, 15), (65, 129, 33),
    ]

    @Test("matmul equals matmulReference for every transpose combination", arguments: shapes)
    func matchesReference(shape: (Int, Int, Int)) {
        let (m, k, n) = shape
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                let a = TensorTestSupport.random(transposeA ? [k, m] : [m, k], "a\(m).\(k)")
                let b = TensorTestSupport.random(transposeB ? [n, k] : [k, n], "b\(k).\(n)")
                let fast = Tensor.matmul(a, b, transposeA: transposeA, transposeB: transposeB)
                let slow = Tensor.matmulReference(a, b, transposeA: transposeA, transposeB: transposeB)
                #expect(fast.shape == [m, n])
                #expect(
                    TensorTestSupport.maxAbsDifference(fast, slow).value <= Self.tolerance(k: k),
                    "M×K×N = \(m)×\(k)×\(n), tA=\(transposeA) tB=\(transposeB): \(TensorTestSupport.describeDifference(fast, slow))")
            }
        }
    }

    @Test("a 2×3 by 3×2 product matches the hand-computed result")
    func smallKnownProduct() {
        let a = Tensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [3, 2], storage: [7, 8, 9, 10, 11, 12])
        let expected = Tensor(shape: [2, 2], storage: [58, 64, 139, 154])
        #expect(Tensor.matmul(a, b) == expected)
        #expect(Tensor.matmulReference(a, b) == expected)
        // Aᵀ stored as [3, 2] and Bᵀ stored as [2, 3] give the same product.
        #expect(Tensor.matmul(a.transposed(), b.transposed(), transposeA: true, transposeB: true) == expected)
    }

    @Test("K = 0 gives an all-zero M×N result (the empty sum)")
    func emptyInnerDimension() {
        let a = Tensor(shape: [3, 0]), b = Tensor(shape: [0, 4])
        #expect(Tensor.matmul(a, b) == Tensor(shape: [3, 4]))
        #expect(Tensor.matmulReference(a, b) == Tensor(shape: [3, 4]))
        #expect(Tensor.matmul(Tensor(shape: [0, 3]), Tensor(shape: [0, 2]), transposeA: true) == Tensor(shape: [3, 2]))
    }

    @Test("M = 0 or N = 0 gives an empty result")
    func emptyOuterDimension() {
        #expect(Tensor.matmul(Tensor(shape: [0, 5]), Tensor(shape: [5, 3])).shape == [0, 3])
        #expect(Tensor.matmul(Tensor(shape: [2, 5]), Tensor(shape: [5, 0])).shape == [2, 0])
    }

    @Test("multiplying by the identity returns the matrix")
    func identityIsNeutral() {
        let a = TensorTestSupport.random([5, 7], "identity")
        #expect(Tensor.matmul(a, .identity(7)) == a)
        #expect(Tensor.matmul(.identity(5), a) == a)
    }

    /// (batch, M, K, N) quadruples.
    static let batchedShapes: [(Int, Int, Int, Int)] = [
        (1, 1, 1, 1), (2, 3, 5, 7), (3, 1, 17, 1), (4, 19, 1, 9), (5, 17, 33, 15),
    ]

    @Test("batchedMatmul equals batchedMatmulReference for every transpose combination",
          arguments: batchedShapes)
    func batchedMatchesReference(shape: (Int, Int, Int, Int)) {
        let (batch, m, k, n) = shape
        for transposeA in [false, true] {
            for transposeB in [false, true] {
                let a = TensorTestSupport.random(transposeA ? [batch, k, m] : [batch, m, k], "ba\(m).\(k)")
                let b = TensorTestSupport.random(transposeB ? [batch, n, k] : [batch, k, n], "bb\(k).\(n)")
                let fast = Tensor.batchedMatmul(a, b, transposeA: transposeA, transposeB: transposeB)
                let slow = Tensor.batchedMatmulReference(
                    a, b, transposeA: transposeA, transposeB: transposeB)
                #expect(fast.shape == [batch, m, n])
                #expect(
                    TensorTestSupport.maxAbsDifference(fast, slow).value <= Self.tolerance(k: k),
                    "batch \(batch), M×K×N = \(m)×\(k)×\(n), tA=\(transposeA) tB=\(transposeB): \(TensorTestSupport.describeDifference(fast, slow))")
            }
        }
    }

    @Test("each batch item of batchedMatmul is the rank-2 matmul of its slices")
    func batchedIsPerItemMatmul() {
        let (batch, m, k, n) = (3, 4, 6, 5)
        let a = TensorTestSupport.random([batch, m, k], "slice-a")
        let b = TensorTestSupport.random([batch, k, n], "slice-b")
        let c = Tensor.batchedMatmul(a, b)
        for item in 0..<batch {
            let ai = Tensor(shape: [m, k], storage: Array(a.storage[(item * m * k)..<((item + 1) * m * k)]))
            let bi = Tensor(shape: [k, n], storage: Array(b.storage[(item * k * n)..<((item + 1) * k * n)]))
            let ci = Tensor(shape: [m, n], storage: Array(c.storage[(item * m * n)..<((item + 1) * m * n)]))
            #expect(ci == Tensor.matmul(ai, bi), "batch item \(item)")
        }
    }

    @Test("batched K = 0 gives zeros")
    func batchedEmptyInner() {
        let c = Tensor.batchedMatmul(Tensor(shape: [2, 3, 0]), Tensor(shape: [2, 0, 4]))
        #expect(c == Tensor(shape: [2, 3, 4]))
    }
}
