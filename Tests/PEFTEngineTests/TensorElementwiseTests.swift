import Testing
@testable import PEFTEngine

/// Elementwise kernels agree with a per-element reference written with `zip`/`map` on arrays.
@Suite("Tensor elementwise")
struct TensorElementwiseTests {
    /// Odd shapes: a scalar, an empty tensor, a vector, rank 2 and rank 3 with prime extents.
    static let shapes: [[Int]] = [[], [0], [1], [7], [3, 5], [2, 3, 7], [17, 1]]

    @Test("adding, subtracting and multiplying match per-element arithmetic", arguments: shapes)
    func binaryOps(shape: [Int]) {
        let a = TensorTestSupport.random(shape, "ew-a"), b = TensorTestSupport.random(shape, "ew-b")
        #expect(a.adding(b).storage == zip(a.storage, b.storage).map { $0 + $1 })
        #expect(a.subtracting(b).storage == zip(a.storage, b.storage).map { $0 - $1 })
        #expect(a.multiplying(b).storage == zip(a.storage, b.storage).map { $0 * $1 })
        #expect((a + b) == a.adding(b))
        #expect((a - b) == a.subtracting(b))
        #expect(a.adding(b).shape == shape)
    }

    @Test("scaled, adding(scalar:) and map match per-element arithmetic", arguments: shapes)
    func unaryOps(shape: [Int]) {
        let a = TensorTestSupport.random(shape, "ew-u")
        #expect(a.scaled(by: -2.5).storage == a.storage.map { $0 * -2.5 })
        #expect(a.adding(scalar: 0.75).storage == a.storage.map { $0 + 0.75 })
        #expect(a.map { $0 * $0 - 1 }.storage == a.storage.map { $0 * $0 - 1 })
        #expect(a.map { $0 }.shape == shape)
    }

    @Test("addScaled accumulates y ← y + α·x in place", arguments: shapes)
    func axpy(shape: [Int]) {
        let x = TensorTestSupport.random(shape, "axpy-x")
        var y = TensorTestSupport.random(shape, "axpy-y")
        let expected = zip(y.storage, x.storage).map { $0 + 0.5 * $1 }
        y.addScaled(x, alpha: 0.5)
        #expect(y.storage == expected)
        #expect(y.shape == shape)
    }

    @Test("scale(by:) and apply mutate in place like their out-of-place twins", arguments: shapes)
    func inPlace(shape: [Int]) {
        let a = TensorTestSupport.random(shape, "inplace")
        var s = a
        s.scale(by: 3)
        #expect(s == a.scaled(by: 3))
        var f = a
        f.apply { Swift.max($0, 0) }
        #expect(f == a.map { Swift.max($0, 0) })
    }

    @Test("mutating a copy leaves the original untouched (value semantics)")
    func valueSemantics() {
        let a = Tensor(shape: [2, 2], storage: [1, 2, 3, 4])
        var b = a
        b.addScaled(a)
        #expect(a.storage == [1, 2, 3, 4])
        #expect(b.storage == [2, 4, 6, 8])
    }
}
