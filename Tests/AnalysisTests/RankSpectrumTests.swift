import Analysis
import Foundation
import PEFTEngine
import Testing

/// Measures from an exactly given spectrum: only Double rounding of a few sums.
private let exactTolerance = 1e-12
/// Measures from a float32 matrix through sgesdd: the spectrum carries float32 rounding,
/// and the zero singular values come back as ~1e-7 instead of 0.
private let svdRelativeTolerance = 1e-5
/// Effective rank from sgesdd: a dozen ~1e-7 tail values each add ~p·ln p ≈ 2e-7 to the entropy.
private let svdEffectiveRankTolerance = 1e-4

/// σ = 5, 3, 1 followed by twelve zeros: the full spectrum of a rank-3 20×15 matrix.
private let rankThreeSpectrum: [Float] = [5, 3, 1] + [Float](repeating: 0, count: 12)

/// exp(H(p)) for p = (5/9, 3/9, 1/9):
/// H = −(5/9 ln 5/9 + 1/3 ln 1/3 + 1/9 ln 1/9) = 0.326548 + 0.366204 + 0.244136 = 0.936888,
/// exp(0.936888…) = 2.552027924280892.
private let rankThreeEffectiveRank = 2.552027924280892

@Suite("RankSpectrum: stable, effective, energy and numerical rank")
struct RankSpectrumTests {
    @Test("rank-3 spectrum σ = 5, 3, 1 of a 20×15 matrix, by hand")
    func handSpectrum() {
        let s = RankSpectrum(singularValues: rankThreeSpectrum, rows: 20, columns: 15)
        #expect(!s.isTruncated)
        // ‖A‖²_F = 25 + 9 + 1 = 35, σ₁ = 5, stable rank 35 / 25 = 1.4
        #expect(s.frobeniusNormSquared == 35)
        #expect(s.spectralNorm == 5)
        #expect(abs(s.stableRank - 1.4) < exactTolerance)
        #expect(abs(s.effectiveRank - rankThreeEffectiveRank) < exactTolerance)
        // cumulative energy 25/35 = 0.714, 34/35 = 0.971, 35/35 = 1
        #expect(s.energyRank50 == 1)
        #expect(s.energyRank90 == 2)
        #expect(s.energyRank99 == 3)
        #expect(s.energyRank(fraction: 1) == 3)
        #expect(s.energyRank(fraction: 0) == 0)
        // tol = max(20, 15) · 2⁻²³ · 5 = 1.19e-5: σ = 5, 3, 1 are above, the zeros are not.
        #expect(s.numericalRankTolerance == 20 * Double(Float.ulpOfOne) * 5)
        #expect(s.numericalRank == 3)
    }

    @Test("a fraction met exactly counts (relative slack), one hair above needs the next value")
    func exactlyMetFraction() {
        // Six equal values: 3 of them hold exactly half the energy.
        let flat = RankSpectrum(singularValues: [Float](repeating: 1, count: 6), rows: 6, columns: 6)
        #expect(flat.energyRank(fraction: 0.5) == 3)
        #expect(flat.energyRank(fraction: 0.5 + 1e-9) == 4)
        let s = RankSpectrum(singularValues: rankThreeSpectrum, rows: 20, columns: 15)
        #expect(s.energyRank(fraction: 34.0 / 35.0) == 2)
    }

    @Test("of(_:) on a constructed rank-3 20×15 matrix agrees with the hand spectrum")
    func fromMatrix() throws {
        let a = matrixWithSpectrum(
            rows: 20, columns: 15, singularValues: rankThreeSpectrum.map(Double.init), seed: 3)
        let s = try RankSpectrum.of(a)
        #expect(s.rows == 20 && s.columns == 15 && !s.isTruncated)
        #expect(s.singularValues.count == 15)
        #expect(s.numericalRank == 3, "σ = \(s.singularValues), tol = \(s.numericalRankTolerance)")
        #expect(s.energyRank50 == 1 && s.energyRank90 == 2 && s.energyRank99 == 3)
        #expect(abs(s.frobeniusNormSquared - 35) / 35 < svdRelativeTolerance)
        #expect(abs(s.spectralNorm - 5) / 5 < svdRelativeTolerance)
        #expect(abs(s.stableRank - 1.4) / 1.4 < svdRelativeTolerance)
        #expect(abs(s.effectiveRank - rankThreeEffectiveRank) < svdEffectiveRankTolerance)
        // ‖A‖²_F from the entries must match Σσ².
        var entrySquares = 0.0
        for x in a.storage { entrySquares += Double(x) * Double(x) }
        #expect(abs(s.frobeniusNormSquared - entrySquares) / entrySquares < svdRelativeTolerance)
    }

    @Test("identity n×n: stable rank n, effective rank n, numerical rank n", arguments: [1, 5, 12])
    func identity(n: Int) throws {
        var eye = Tensor(shape: [n, n])
        for i in 0..<n { eye[i, i] = 1 }
        let s = try RankSpectrum.of(eye)
        let expected = Double(n)
        #expect(abs(s.stableRank - expected) / expected < svdRelativeTolerance)
        #expect(abs(s.effectiveRank - expected) / expected < svdRelativeTolerance)
        #expect(s.numericalRank == n)
        #expect(s.energyRank(fraction: 1) == n)
    }

    @Test("zero matrix: every rank is 0")
    func zero() throws {
        let s = try RankSpectrum.of(Tensor(shape: [4, 3]))
        #expect(s.singularValues == [0, 0, 0])
        #expect(s.frobeniusNormSquared == 0 && s.spectralNorm == 0)
        #expect(s.stableRank == 0 && s.effectiveRank == 0 && s.numericalRank == 0)
        #expect(s.energyRank50 == 0 && s.energyRank99 == 0 && s.energyRank(fraction: 1) == 0)
    }

    @Test("truncated top-2 of σ = 5, 3, 1 with ‖A‖²_F = 35: exact where reachable, nil beyond")
    func truncated() {
        let s = RankSpectrum(singularValues: [5, 3], rows: 20, columns: 15, totalEnergy: 35)
        #expect(s.isTruncated)
        #expect(s.frobeniusNormSquared == 35)
        #expect(abs(s.stableRank - 1.4) < exactTolerance)
        #expect(s.energyRank90 == 2)
        // 34/35 < 0.99 and the third value is not known.
        #expect(s.energyRank99 == nil)
        // Over the given values only: exp(H(5/8, 3/8)) = 1.9378192408783848.
        #expect(abs(s.effectiveRank - 1.9378192408783848) < exactTolerance)
        #expect(s.numericalRank == 2)
    }

    @Test("JSON round trip keeps every field")
    func codable() throws {
        let s = RankSpectrum(singularValues: [5, 3], rows: 20, columns: 15, totalEnergy: 35)
        let decoded = try JSONDecoder().decode(RankSpectrum.self, from: JSONEncoder().encode(s))
        #expect(decoded == s)
    }
}
