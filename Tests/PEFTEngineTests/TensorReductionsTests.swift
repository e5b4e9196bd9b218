import Testing
@testable import PEFTEngine

/// Reductions agree with Double-precision references and with hand-computed values.
@Suite("Tensor reductions")
struct TensorReductionsTests {
    /// A Double-accumulated reduction rounded once is within half an ulp of the exact sum;
    /// allow one ulp of the result's magnitude (plus a tiny floor for results near zero).
    static func tolerance(for value: Double) -> Float { Float(value).ulp + 1e-7 }

    static let shapes: [[Int]] = [[1], [7], [3, 5], [2, 3, 7], [17, 1], [1, 31], [64, 33]]

    @Test("sum, mean and dot match Double references", arguments: shapes)
    func sumMeanDot(shape: [Int]) {
        let a = TensorTestSupport.random(shape, "red-a"), b = TensorTestSupport.random(shape, "red-b")
        let sum = a.storage.reduce(0.0) { $0 + Double($1) }
        let dot = zip(a.storage, b.storage).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(a.sum() - Float(sum)) <= Self.tolerance(for: sum))
        #expect(abs(a.mean() - Float(sum / Double(a.count))) <= Self.tolerance(for: sum / Double(a.count)))
        #expect(abs(a.dot(b) - Float(dot)) <= Self.tolerance(for: dot))
    }

    @Test("max and min are the extreme elements", arguments: shapes)
    func extremes(shape: [Int]) {
        let a = TensorTestSupport.random(shape, "red-x")
        #expect(a.max() == a.storage.max()!)
        #expect(a.min() == a.storage.min()!)
    }

    @Test("max and min propagate NaN")
    func nanPropagates() {
        let a = Tensor(shape: [3], storage: [1, .nan, 2])
        #expect(a.max().isNaN)
        #expect(a.min().isNaN)
    }

    @Test("sum of an empty tensor is 0; norm of an empty tensor is 0")
    func emptySums() {
        #expect(Tensor(shape: [0, 3]).sum() == 0)
        #expect(Tensor(shape: [0]).frobeniusNorm() == 0)
    }

    @Test("sum(alongAxis:) gives column sums for axis 0 and row sums for axis 1")
    func axisSumsKnown() {
        let a = Tensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6])
        #expect(a.sum(alongAxis: 0) == Tensor(shape: [3], storage: [5, 7, 9]))
        #expect(a.sum(alongAxis: 1) == Tensor(shape: [2], storage: [6, 15]))
        #expect(Tensor(shape: [0, 4]).sum(alongAxis: 0) == Tensor(shape: [4]))
        #expect(Tensor(shape: [0, 4]).sum(alongAxis: 1) == Tensor(shape: [0]))
    }

    @Test("sum(alongAxis:) matches Double references on odd rank-2 shapes",
          arguments: [[1, 1], [3, 5], [17, 1], [1, 31], [64, 33]])
    func axisSums(shape: [Int]) {
        let a = TensorTestSupport.random(shape, "red-axis")
        let (r, c) = (shape[0], shape[1])
        let columnSums = a.sum(alongAxis: 0), rowSums = a.sum(alongAxis: 1)
        #expect(columnSums.shape == [c] && rowSums.shape == [r])
        for j in 0..<c {
            let s = (0..<r).reduce(0.0) { $0 + Double(a[$1, j]) }
            #expect(abs(columnSums.storage[j] - Float(s)) <= Self.tolerance(for: s), "column \(j)")
        }
        for i in 0..<r {
            let s = (0..<c).reduce(0.0) { $0 + Double(a[i, $1]) }
            #expect(abs(rowSums.storage[i] - Float(s)) <= Self.tolerance(for: s), "row \(i)")
        }
    }

    @Test("Frobenius norm of [[3, 4], [0, 0]] is 5 and matches sqrt(dot(x, x))")
    func frobenius() {
        #expect(Tensor(shape: [2, 2], storage: [3, 4, 0, 0]).frobeniusNorm() == 5)
        let a = TensorTestSupport.random([13, 7], "fro")
        let exact = a.storage.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        #expect(abs(a.frobeniusNorm() - Float(exact)) <= Self.tolerance(for: exact))
    }

    @Test("Frobenius norm does not lose small terms next to a large one (Double accumulation)")
    func frobeniusAccumulatesInDouble() {
        // 1 + 2²⁴·(2⁻¹²)² = 1 + 1 = 2 exactly; a Float running sum would stay at 1 because
        // each 2⁻²⁴ term is below half an ulp of 1.
        var values = [Float](repeating: 0x1p-12, count: 1 << 24)
        values[0] = 1
        let a = Tensor(shape: [values.count], storage: values)
        let expected = (1.0 + Double((1 << 24) - 1) * 0x1p-24).squareRoot()
        #expect(abs(a.frobeniusNorm() - Float(expected)) <= Self.tolerance(for: expected))
    }
}
