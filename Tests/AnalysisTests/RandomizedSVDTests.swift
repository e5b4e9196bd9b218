import Analysis
import Foundation
import PEFTEngine
import Testing

/// Relative error allowed on each of the top-k singular values of a Float32 matrix whose
/// spectrum decays geometrically (ratio 0.6): two power iterations make the randomized error
/// far smaller than Float32 rounding, which is ~ε·σ₁/σₖ ≈ 4·10⁻⁶ at σₖ = σ₁·0.6⁷.
private let topValueRelativeTolerance = 1e-4
/// |reported residual − directly computed residual| / directly computed residual.
private let residualAgreementTolerance = 1e-4
/// |reported residual − Eckart–Young optimum| / optimum for an accurately found subspace.
private let residualOptimalityTolerance = 1e-3
/// max |UᵀU − I| and |VᵀV − I|.
private let randomizedOrthonormalityTolerance = 1e-5

/// σᵢ = 10 · 0.6ⁱ, i < count: a fast-decaying spectrum.
private func geometricSpectrum(_ count: Int) -> [Double] {
    (0..<count).map { 10 * pow(0.6, Double($0)) }
}

/// ‖A − U·diag(s)·Vᵀ‖_F / ‖A‖_F in plain Double loops.
private func directRelativeResidual(_ a: Tensor, _ r: RandomizedSVD.Result) -> Double {
    var residual = 0.0, norm = 0.0
    for i in 0..<a.rows {
        for j in 0..<a.columns {
            var approx = 0.0
            for l in 0..<r.s.count { approx += Double(r.u[i, l]) * Double(r.s[l]) * Double(r.vt[l, j]) }
            let x = Double(a[i, j])
            residual += (x - approx) * (x - approx)
            norm += x * x
        }
    }
    return (residual / norm).squareRoot()
}

@Suite("Randomized top-k SVD (Halko, Martinsson & Tropp 2011)")
struct RandomizedSVDTests {
    @Test("top-k values of a matrix with a known fast-decaying spectrum match the exact ones")
    func recoversTopValues() throws {
        let spectrum = geometricSpectrum(60)
        let a = matrixWithSpectrum(rows: 90, columns: 60, singularValues: spectrum, seed: 3)
        let k = 8
        let result = try RandomizedSVD.topK(a, k: k, oversampling: 10, powerIterations: 2, seed: 1)
        #expect(!result.isExact)
        #expect(result.sketchSize == 18)
        #expect(result.u.shape == [90, k] && result.vt.shape == [k, 60] && result.s.count == k)
        let exact = try SVD.singularValues(of: a)
        for i in 0..<k {
            let relative = abs(Double(result.s[i]) - spectrum[i]) / spectrum[i]
            #expect(relative < topValueRelativeTolerance, "σ[\(i)] = \(result.s[i]), known \(spectrum[i])")
            let versusLAPACK = abs(result.s[i] - exact[i]) / exact[i]
            #expect(Double(versusLAPACK) < topValueRelativeTolerance, "σ[\(i)] = \(result.s[i]), exact \(exact[i])")
        }
        #expect(columnOrthonormalityError(result.u) < randomizedOrthonormalityTolerance)
        #expect(rowOrthonormalityError(result.vt) < randomizedOrthonormalityTolerance)
    }

    @Test("the reported residual is ‖A − U S Vᵀ‖_F/‖A‖_F computed directly, and near the Eckart–Young optimum")
    func residualIsTheDirectResidual() throws {
        let spectrum = geometricSpectrum(50)
        let a = matrixWithSpectrum(rows: 50, columns: 70, singularValues: spectrum, seed: 8)
        let result = try RandomizedSVD.topK(a, k: 5, oversampling: 6, seed: 2)
        let direct = directRelativeResidual(a, result)
        #expect(abs(result.residualFrobeniusRelative - direct) <= residualAgreementTolerance * direct,
                "reported \(result.residualFrobeniusRelative), direct \(direct)")
        let total = spectrum.reduce(0) { $0 + $1 * $1 }
        let tail = spectrum.dropFirst(5).reduce(0) { $0 + $1 * $1 }
        let optimum = (tail / total).squareRoot()
        #expect(abs(result.residualFrobeniusRelative - optimum) <= residualOptimalityTolerance * optimum,
                "residual \(result.residualFrobeniusRelative), optimum \(optimum)")
        var normSquared = 0.0
        for x in a.storage { normSquared += Double(x) * Double(x) }
        #expect(result.frobeniusNormSquared == normSquared)
    }

    @Test("the estimated σ_{k+1} is a lower bound close to the true value")
    func nextValueEstimate() throws {
        let spectrum = geometricSpectrum(40)
        let a = matrixWithSpectrum(rows: 40, columns: 64, singularValues: spectrum, seed: 4)
        let result = try RandomizedSVD.topK(a, k: 6, oversampling: 8, seed: 5)
        let next = try #require(result.estimatedNextSingularValue)
        #expect(Double(next) <= spectrum[6] * (1 + topValueRelativeTolerance))
        #expect(abs(Double(next) - spectrum[6]) / spectrum[6] < 1e-2, "estimate \(next), true \(spectrum[6])")
        let noOversampling = try RandomizedSVD.topK(a, k: 6, oversampling: 0, seed: 5)
        #expect(noOversampling.estimatedNextSingularValue == nil)
    }

    @Test("the same seed gives bit-identical results; another seed draws another sketch")
    func deterministicPerSeed() throws {
        let a = randomMatrix(rows: 40, columns: 33, seed: 12)
        let first = try RandomizedSVD.topK(a, k: 4, oversampling: 5, powerIterations: 1, seed: 99)
        let second = try RandomizedSVD.topK(a, k: 4, oversampling: 5, powerIterations: 1, seed: 99)
        #expect(first == second)
        #expect(first.u.storage == second.u.storage && first.s == second.s && first.vt.storage == second.vt.storage)
        let other = try RandomizedSVD.topK(a, k: 4, oversampling: 5, powerIterations: 1, seed: 100)
        #expect(other.u.storage != first.u.storage, "seed does not reach the test matrix Ω")
    }

    @Test("k + p ≥ min(m, n) falls back to the exact thin SVD; k > min(m, n) is clamped")
    func exactFallback() throws {
        let a = randomMatrix(rows: 12, columns: 7, seed: 6)
        let exact = try SVD.decompose(a, mode: .thin)
        let clamped = try RandomizedSVD.topK(a, k: 9)
        #expect(clamped.isExact && clamped.rank == 7 && clamped.sketchSize == 7)
        #expect(clamped.s == exact.s && clamped.u == exact.u && clamped.vt == exact.vt)
        #expect(clamped.estimatedNextSingularValue == nil)
        #expect(clamped.residualFrobeniusRelative < 1e-6, "full-rank reconstruction residual \(clamped.residualFrobeniusRelative)")

        let viaOversampling = try RandomizedSVD.topK(a, k: 3, oversampling: 4)
        #expect(viaOversampling.isExact)
        #expect(viaOversampling.s == Array(exact.s[0..<3]))
        #expect(viaOversampling.estimatedNextSingularValue == exact.s[3])
        let direct = directRelativeResidual(a, viaOversampling)
        #expect(abs(viaOversampling.residualFrobeniusRelative - direct) <= residualAgreementTolerance * direct)
    }

    @Test("non-finite input is rejected with its position")
    func rejectsNonFinite() {
        var a = randomMatrix(rows: 30, columns: 30, seed: 1)
        a[2, 5] = .nan
        #expect(throws: SVDError.self) { try RandomizedSVD.topK(a, k: 2, oversampling: 2) }
        do {
            _ = try RandomizedSVD.topK(a, k: 2, oversampling: 2)
        } catch let error as SVDError {
            guard case let .nonFiniteInput(row, column, _, rows, columns) = error else {
                Issue.record("wrong case \(error)"); return
            }
            #expect(row == 2 && column == 5 && rows == 30 && columns == 30)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
