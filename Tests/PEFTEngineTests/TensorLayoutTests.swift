import Testing
@testable import PEFTEngine

/// Transpose, identity, diagonals and row/column ranges of rank-2 tensors.
@Suite("Tensor layout")
struct TensorLayoutTests {
    @Test("transposed swaps indices: out[j, i] = x[i, j]",
          arguments: [[1, 1], [3, 5], [1, 7], [7, 1], [0, 4], [17, 33]])
    func transpose(shape: [Int]) {
        let a = TensorTestSupport.random(shape, "transpose")
        let t = a.transposed()
        #expect(t.shape == [shape[1], shape[0]])
        for i in 0..<shape[0] {
            for j in 0..<shape[1] { #expect(t[j, i] == a[i, j]) }
        }
        #expect(t.transposed() == a)
    }

    @Test("identity(n) has ones on the diagonal and zeros elsewhere")
    func identity() {
        let i3 = Tensor.identity(3)
        #expect(i3 == Tensor(shape: [3, 3], storage: [1, 0, 0, 0, 1, 0, 0, 0, 1]))
        #expect(Tensor.identity(0).shape == [0, 0])
    }

    @Test("Tensor(diagonal:) builds diag(d); diagonal() reads it back")
    func diagonalRoundTrip() {
        let d: [Float] = [2, -1, 0.5]
        let square = Tensor(diagonal: d)
        #expect(square == Tensor(shape: [3, 3], storage: [2, 0, 0, 0, -1, 0, 0, 0, 0.5]))
        #expect(square.diagonal().storage == d)
        let wide = Tensor(diagonal: d, rows: 3, columns: 5)
        #expect(wide.shape == [3, 5] && wide[2, 2] == 0.5 && wide[0, 4] == 0 && wide.sum() == 1.5)
        let tall = Tensor(diagonal: d, rows: 4, columns: 3)
        #expect(tall.diagonal().storage == d && tall[3, 2] == 0)
    }

    @Test("diagonal() of a rectangular matrix has min(R, C) entries x[i, i]")
    func diagonalRectangular() {
        let a = Tensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6])
        #expect(a.diagonal() == Tensor(shape: [2], storage: [1, 5]))
        #expect(a.transposed().diagonal() == Tensor(shape: [2], storage: [1, 5]))
    }

    @Test("rows(in:) and columns(in:) copy the requested block")
    func ranges() {
        let a = Tensor(shape: [3, 4], storage: (0..<12).map(Float.init))
        #expect(a.rows(in: 1..<3) == Tensor(shape: [2, 4], storage: [4, 5, 6, 7, 8, 9, 10, 11]))
        #expect(a.columns(in: 1..<3) == Tensor(shape: [3, 2], storage: [1, 2, 5, 6, 9, 10]))
        #expect(a.rows(in: 0..<0).shape == [0, 4])
        #expect(a.columns(in: 4..<4).shape == [3, 0])
        #expect(a.rows(in: 0..<3) == a && a.columns(in: 0..<4) == a)
    }

    @Test("truncating a product: U[:, :r] · Vᵀ[:r, :] equals the sum of the first r outer products")
    func truncationUseCase() {
        let u = TensorTestSupport.random([5, 4], "u"), vt = TensorTestSupport.random([4, 6], "vt")
        let r = 2
        let truncated = Tensor.matmul(u.columns(in: 0..<r), vt.rows(in: 0..<r))
        var outerSum = Tensor(shape: [5, 6])
        for p in 0..<r {
            for i in 0..<5 {
                for j in 0..<6 { outerSum[i, j] += u[i, p] * vt[p, j] }
            }
        }
        #expect(truncated.shape == [5, 6])
        #expect(
            TensorTestSupport.maxAbsDifference(truncated, outerSum).value <= 8 * Float.ulpOfOne,
            "\(TensorTestSupport.describeDifference(truncated, outerSum))")
    }
}
