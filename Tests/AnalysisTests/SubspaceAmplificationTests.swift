import Analysis
import PEFTEngine
import Testing

/// Relative error on norms of small hand-made Float32 matrices.
private let normTolerance = 1e-5

@Suite("Amplification factor (Hu et al. 2021, §7.3)")
struct SubspaceAmplificationTests {
    /// W₀ = [[3, 1, 0], [0, 2, 0], [0, 0, 1]]: σ₁² = 7 + √13 (eigenvalue of [[9, 3], [3, 5]]).
    private let base = Tensor(shape: [3, 3], storage: [3, 1, 0,
                                                      0, 2, 0,
                                                      0, 0, 1])

    @Test("ΔW = 6·e1·e2ᵀ, r = 1: ‖ΔW‖ = 6, ‖Uᵀ W₀ V‖ = |W₀[0, 1]| = 1, amplification 6")
    func handCase() throws {
        var delta = Tensor(shape: [3, 3])
        delta[0, 1] = 6
        let result = try AmplificationFactor.compute(base: base, update: delta, rank: 1, randomDraws: 4, seed: 3)
        #expect(result.rank == 1 && result.randomDraws == 4)
        #expect(abs(result.updateNorm - 6) < normTolerance * 6)
        #expect(abs(result.projectedBaseNorm - 1) < normTolerance)
        #expect(abs(result.amplification - 6) < normTolerance * 6)
        let ownTop = (7 + 13.0.squareRoot()).squareRoot()
        #expect(abs(result.projectedBaseNormOnOwnTopSubspace - ownTop) < normTolerance * ownTop)
        // Ky Fan: no rank-1 pair of unit vectors captures more than σ₁.
        #expect(result.projectedBaseNormOnRandomSubspaces <= ownTop * (1 + normTolerance))
        #expect(result.projectedBaseNormOnRandomSubspaces > 0)
    }

    @Test("an update along W₀ itself (ΔW = 2·W₀, r = 3) has amplification 2 and projects like W₀'s own subspace")
    func alignedUpdate() throws {
        let result = try AmplificationFactor.compute(base: base, update: base.scaled(by: 2), rank: 3, randomDraws: 2)
        let norm = Double(base.frobeniusNorm())
        #expect(abs(result.amplification - 2) < normTolerance * 2)
        #expect(abs(result.projectedBaseNorm - norm) < normTolerance * norm)
        #expect(abs(result.projectedBaseNormOnOwnTopSubspace - norm) < normTolerance * norm)
        // Full-rank random bases of ℝ³ are orthogonal matrices: the projection keeps ‖W₀‖_F.
        #expect(abs(result.projectedBaseNormOnRandomSubspaces - norm) < normTolerance * norm)
    }

    @Test("the random reference is deterministic per seed and lies below the own-subspace value")
    func randomReference() throws {
        let w0 = matrixWithSpectrum(rows: 20, columns: 16, singularValues: (0..<16).map { 16 - Double($0) }, seed: 2)
        let delta = randomMatrix(rows: 20, columns: 16, seed: 3)
        let first = try AmplificationFactor.compute(base: w0, update: delta, rank: 4, seed: 11)
        let again = try AmplificationFactor.compute(base: w0, update: delta, rank: 4, seed: 11)
        let other = try AmplificationFactor.compute(base: w0, update: delta, rank: 4, seed: 12)
        #expect(first == again)
        #expect(first.randomDraws == 10)
        #expect(first.projectedBaseNormOnRandomSubspaces != other.projectedBaseNormOnRandomSubspaces)
        #expect(first.projectedBaseNormOnRandomSubspaces < first.projectedBaseNormOnOwnTopSubspace)
        #expect(first.projectedBaseNorm <= first.projectedBaseNormOnOwnTopSubspace * (1 + normTolerance))
    }
}
