import Analysis
import PEFTEngine
import Testing

/// |φ − expected| for bases exact in Float32 or built in Float64 and rounded once.
private let phiTolerance = 1e-5

/// The first `count` columns, starting at `first`, of a random orthogonal n×n matrix (Float64,
/// rounded once): an orthonormal basis of a random subspace.
func orthonormalColumns(dimension n: Int, first: Int = 0, count: Int, seed: UInt64) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    let q = randomOrthogonal(n, generator: &generator)
    var t = Tensor(shape: [n, count])
    for i in 0..<n {
        for j in 0..<count { t[i, j] = Float(q[i * n + first + j]) }
    }
    return t
}

/// The m×r matrix whose columns are the standard basis vectors e_{indices[0]}, e_{indices[1]}, …
func standardBasis(dimension m: Int, indices: [Int]) -> Tensor {
    var t = Tensor(shape: [m, indices.count])
    for (column, index) in indices.enumerated() { t[index, column] = 1 }
    return t
}

@Suite("Subspace similarity φ (Hu et al. 2021, §7.2)")
struct SubspaceSimilarityTests {
    @Test("a subspace is fully similar to itself: φ(U, U, i, j) = 1 for every i, j")
    func selfSimilarityIsOne() {
        let u = orthonormalColumns(dimension: 10, count: 4, seed: 1)
        let grid = SubspaceSimilarity.grid(u, u)
        #expect(grid.rankA == 4 && grid.rankB == 4)
        for value in grid.values { #expect(abs(value - 1) < phiTolerance, "φ = \(value)") }
        #expect(abs(SubspaceSimilarity.phi(u, u, i: 4, j: 4) - 1) < phiTolerance)
    }

    @Test("orthogonal subspaces have φ = 0 everywhere")
    func orthogonalSubspacesAreDissimilar() {
        let a = orthonormalColumns(dimension: 9, first: 0, count: 3, seed: 2)
        let b = orthonormalColumns(dimension: 9, first: 3, count: 5, seed: 2)
        let grid = SubspaceSimilarity.grid(a, b)
        #expect(grid.values.count == 15)
        for value in grid.values { #expect(abs(value) < phiTolerance, "φ = \(value)") }
    }

    @Test("span{e1, e2} vs span{e1, e3}: φ(2, 2) = 1/2, φ(1, ·) = 1, φ(2, 1) = 1")
    func handOverlap() {
        let a = standardBasis(dimension: 4, indices: [0, 1])
        let b = standardBasis(dimension: 4, indices: [0, 2])
        #expect(SubspaceSimilarity.phi(a, b, i: 2, j: 2) == 0.5)
        let grid = SubspaceSimilarity.grid(a, b)
        #expect(grid[1, 1] == 1 && grid[1, 2] == 1 && grid[2, 1] == 1 && grid[2, 2] == 0.5)
        // span{e2} vs span{e1, e3}: nothing shared.
        let c = standardBasis(dimension: 4, indices: [1])
        #expect(SubspaceSimilarity.phi(c, b, i: 1, j: 2) == 0)
    }

    @Test("grid, phi and the plain-loop reference agree on random subspaces; φ ∈ [0, 1]")
    func gridAgreesWithReference() {
        let a = orthonormalColumns(dimension: 13, count: 5, seed: 3)
        let b = orthonormalColumns(dimension: 13, count: 7, seed: 4)
        let grid = SubspaceSimilarity.grid(a, b)
        for i in 1...5 {
            for j in 1...7 {
                let reference = SubspaceSimilarity.phiReference(a, b, i: i, j: j)
                #expect(abs(grid[i, j] - reference) < phiTolerance, "grid φ(\(i), \(j)) = \(grid[i, j]), reference \(reference)")
                #expect(abs(SubspaceSimilarity.phi(a, b, i: i, j: j) - reference) < phiTolerance)
                #expect(grid[i, j] >= 0 && grid[i, j] <= 1 + phiTolerance)
            }
        }
    }

    @Test("from two updates: a rescaled ΔW spans the same singular subspaces (φ(i, i) = 1)")
    func fromUpdates() throws {
        let delta = matrixWithSpectrum(rows: 12, columns: 8, singularValues: [8, 7, 6, 5, 4, 3, 2, 1], seed: 5)
        let scaled = delta.scaled(by: -3)
        for side in [SingularSide.left, .right] {
            let grid = try SubspaceSimilarity.grid(updates: delta, scaled, rankA: 4, rankB: 6, side: side)
            for i in 1...4 { #expect(abs(grid[i, i] - 1) < phiTolerance, "φ(\(i), \(i)) = \(grid[i, i]) on \(side)") }
            // The first i directions of one lie inside the first j ≥ i of the other.
            #expect(abs(grid[2, 6] - 1) < phiTolerance)
        }
    }
}
