import Analysis
import PEFTEngine
import Testing

/// Relative error allowed on each singular value of a Float32 matrix with a known spectrum.
private let singularValueRelativeTolerance = 1e-5
/// max |U·diag(s)·Vᵀ − A| / max |A|.
private let reconstructionTolerance = 1e-5
/// max |QᵀQ − I| for the singular vector matrices.
private let orthonormalityTolerance = 1e-5

struct Shape: CustomStringConvertible, Sendable {
    let rows: Int, columns: Int
    var description: String { "\(rows)×\(columns)" }
    static let odd: [Shape] = [.init(rows: 1, columns: 1), .init(rows: 3, columns: 5),
                               .init(rows: 5, columns: 3), .init(rows: 17, columns: 4),
                               .init(rows: 64, columns: 64)]
}

/// A known spectrum in [1, 4], deliberately given out of order: k values, distinct.
private func knownSpectrum(_ k: Int) -> [Double] {
    (0..<k).map { i in 1 + 3 * Double((i * 7) % k) / Double(max(k - 1, 1)) }
}

@Suite("SVD through LAPACKE_sgesdd")
struct SVDTests {
    @Test("singular values of U·diag(s)·Vᵀ come back as s, descending", arguments: Shape.odd)
    func recoversKnownSpectrum(shape: Shape) throws {
        let k = min(shape.rows, shape.columns)
        let s = knownSpectrum(k)
        let a = matrixWithSpectrum(rows: shape.rows, columns: shape.columns, singularValues: s, seed: 11)
        let values = try SVD.singularValues(of: a)
        let expected = s.sorted(by: >)
        #expect(values.count == k)
        for i in 0..<k {
            let relative = abs(Double(values[i]) - expected[i]) / expected[i]
            #expect(relative < singularValueRelativeTolerance, "σ[\(i)] = \(values[i]), expected \(expected[i]) on \(shape)")
        }
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 >= $1 }, "not descending: \(values)")
    }

    @Test("thin U·diag(s)·Vᵀ reconstructs the input; U and V are orthonormal", arguments: Shape.odd)
    func thinDecompositionReconstructs(shape: Shape) throws {
        let a = randomMatrix(rows: shape.rows, columns: shape.columns, seed: 5)
        let (u, s, vt) = try SVD.decompose(a, mode: .thin)
        let k = min(shape.rows, shape.columns)
        #expect(u.shape == [shape.rows, k])
        #expect(s.count == k)
        #expect(vt.shape == [k, shape.columns])
        let error = relativeReconstructionError(u: u, s: s, vt: vt, of: a)
        #expect(error < reconstructionTolerance, "reconstruction error \(error) on \(shape)")
        #expect(columnOrthonormalityError(u) < orthonormalityTolerance, "UᵀU ≠ I on \(shape)")
        #expect(rowOrthonormalityError(vt) < orthonormalityTolerance, "VᵀV ≠ I on \(shape)")
        let valuesOnly = try SVD.singularValues(of: a)
        for i in 0..<k {
            #expect(abs(valuesOnly[i] - s[i]) <= Float(singularValueRelativeTolerance) * s[0], "σ[\(i)] differs between JOBZ N and S")
        }
    }

    @Test("full mode gives square orthogonal U (m×m) and Vᵀ (n×n)", arguments: Shape.odd)
    func fullDecompositionShapes(shape: Shape) throws {
        let a = randomMatrix(rows: shape.rows, columns: shape.columns, seed: 9)
        let (u, s, vt) = try SVD.decompose(a, mode: .full)
        #expect(u.shape == [shape.rows, shape.rows])
        #expect(vt.shape == [shape.columns, shape.columns])
        #expect(s.count == min(shape.rows, shape.columns))
        #expect(columnOrthonormalityError(u) < orthonormalityTolerance)
        #expect(rowOrthonormalityError(vt) < orthonormalityTolerance)
        let error = relativeReconstructionError(u: u, s: s, vt: vt, of: a)
        #expect(error < reconstructionTolerance, "reconstruction error \(error) on \(shape)")
    }

    @Test("LAPACK agrees with the one-sided Jacobi reference on random matrices", arguments: Shape.odd)
    func agreesWithReference(shape: Shape) throws {
        let a = randomMatrix(rows: shape.rows, columns: shape.columns, seed: 21)
        let fast = try SVD.singularValues(of: a)
        let reference = SVD.referenceSingularValues(of: a)
        #expect(fast.count == reference.count)
        for i in 0..<fast.count {
            #expect(abs(fast[i] - reference[i]) <= Float(singularValueRelativeTolerance) * reference[0],
                    "σ[\(i)]: LAPACK \(fast[i]) vs Jacobi \(reference[i]) on \(shape)")
        }
    }

    @Test("the input tensor is left unchanged")
    func inputNotModified() throws {
        let a = randomMatrix(rows: 6, columns: 4, seed: 3)
        let before = a.storage
        _ = try SVD.decompose(a, mode: .full)
        _ = try SVD.singularValues(of: a)
        #expect(a.storage == before)
    }

    @Test("a NaN or infinity is rejected, naming the first bad element")
    func nonFiniteInputThrows() {
        var a = randomMatrix(rows: 4, columns: 5, seed: 1)
        a[2, 3] = .nan
        a[3, 0] = .infinity
        #expect {
            _ = try SVD.singularValues(of: a)
        } throws: { error in
            guard case let SVDError.nonFiniteInput(row, column, _, rows, columns) = error else { return false }
            return row == 2 && column == 3 && rows == 4 && columns == 5
        }
        #expect(throws: SVDError.self) { _ = try SVD.decompose(a, mode: .thin) }
        let message = SVDError.nonFiniteInput(row: 2, column: 3, value: .nan, rows: 4, columns: 5).description
        #expect(message.contains("(2, 3)") && message.contains("4×5"))
    }

    @Test("the zero matrix has zero singular values")
    func zeroMatrix() throws {
        let a = Tensor(shape: [5, 3])
        #expect(try SVD.singularValues(of: a) == [0, 0, 0])
        let (u, s, vt) = try SVD.decompose(a, mode: .thin)
        #expect(s == [0, 0, 0])
        #expect(columnOrthonormalityError(u) < orthonormalityTolerance)
        #expect(rowOrthonormalityError(vt) < orthonormalityTolerance)
    }

    @Test("an empty matrix has no singular values and identity factors in full mode")
    func emptyMatrix() throws {
        let a = Tensor(shape: [0, 3])
        #expect(try SVD.singularValues(of: a).isEmpty)
        let (u, s, vt) = try SVD.decompose(a, mode: .full)
        #expect(u.shape == [0, 0] && s.isEmpty && vt.shape == [3, 3])
        #expect(rowOrthonormalityError(vt) == 0)
    }

    @Test("threading choices give the same values and restore the BLAS thread count")
    func threadingRestoresThreadCount() throws {
        let a = randomMatrix(rows: 40, columns: 30, seed: 8)
        let before = BLAS.threadCount
        let current = try SVD.singularValues(of: a, threading: .current)
        let single = try SVD.singularValues(of: a, threading: .count(1))
        #expect(BLAS.threadCount == before)
        let small = try SVD.singularValues(of: a, threading: .singleThreadWhenSmall)
        #expect(BLAS.threadCount == before)
        for i in 0..<current.count {
            #expect(abs(current[i] - single[i]) <= Float(singularValueRelativeTolerance) * current[0])
            #expect(small[i] == single[i], "singleThreadWhenSmall at 40×30 must run on one thread")
        }
    }
}

/// Finite entries whose spectrum Float32 cannot hold: an error naming the matrix, never a trap.
@Suite struct SVDOutOfRangeTests {
    static let huge = Tensor(shape: [2, 2], storage: [3e38, 3e38, 3e38, 3e38])

    @Test("σ₁ = 6e38 overflows float32: singularValues, decompose and RankSpectrum.of throw outOfRange")
    func exactPaths() {
        #expect(throws: SVDError.outOfRange(rows: 2, columns: 2, largestEntry: 3e38)) { try SVD.singularValues(of: Self.huge) }
        #expect(throws: SVDError.outOfRange(rows: 2, columns: 2, largestEntry: 3e38)) { try SVD.decompose(Self.huge, mode: .thin) }
        #expect(throws: SVDError.self) { try RankSpectrum.of(Self.huge) }
    }

    @Test("the randomized top-k refuses such a matrix before its float32 sketches overflow")
    func randomizedPath() {
        let big = Tensor(shape: [40, 30], storage: (0..<1200).map { _ in Float(3e38) })
        #expect(throws: SVDError.outOfRange(rows: 40, columns: 30, largestEntry: 3e38)) { try RandomizedSVD.topK(big, k: 2) }
    }
}
