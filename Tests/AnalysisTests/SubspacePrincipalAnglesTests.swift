import Analysis
import Foundation
import PEFTEngine
import Testing

/// |θ − expected| in radians for hand-made planes (Float32 inputs).
private let angleTolerance = 1e-5
/// |θ_fast − θ_reference| on random subspaces whose angles are far from 0 (the reference uses
/// arccos alone, which is accurate there).
private let referenceAgreementTolerance = 1e-4

@Suite("Principal angles (Björck & Golub 1973)")
struct SubspacePrincipalAnglesTests {
    @Test("a plane with itself: both angles 0")
    func samePlane() throws {
        let plane = orthonormalColumns(dimension: 6, count: 2, seed: 7)
        let angles = try PrincipalAngles.between(plane, plane)
        #expect(angles.count == 2)
        for angle in angles { #expect(abs(angle) < angleTolerance, "θ = \(angle)") }
    }

    @Test("span{e1, e2} vs span{e3, e4}: both angles π/2")
    func orthogonalPlanes() throws {
        let angles = try PrincipalAngles.between(
            standardBasis(dimension: 4, indices: [0, 1]), standardBasis(dimension: 4, indices: [2, 3]))
        #expect(angles.count == 2)
        for angle in angles { #expect(abs(angle - .pi / 2) < angleTolerance, "θ = \(angle)") }
    }

    @Test("span{e1, e2} vs span{e1, (e2 + e3)/√2}: angles 0 and π/4")
    func fortyFiveDegrees() throws {
        let a = standardBasis(dimension: 3, indices: [0, 1])
        let h = Float(0.5.squareRoot())
        let b = Tensor(shape: [3, 2], storage: [1, 0,
                                                0, h,
                                                0, h])
        let angles = try PrincipalAngles.between(a, b)
        #expect(angles.count == 2)
        #expect(abs(angles[0]) < angleTolerance, "θ₁ = \(angles[0])")
        #expect(abs(angles[1] - .pi / 4) < angleTolerance, "θ₂ = \(angles[1])")
        // A line against a plane gives one angle: e3 against span{e1, e2} is π/2.
        let line = try PrincipalAngles.between(standardBasis(dimension: 3, indices: [2]), a)
        #expect(line.count == 1 && abs(line[0] - .pi / 2) < angleTolerance)
    }

    @Test("a tiny angle (10⁻⁴ rad) is resolved through its sine, where its Float32 cosine is 1")
    func tinyAngle() throws {
        let t = 1e-4
        #expect(Float(cos(t)) == 1, "premise: cos(10⁻⁴) rounds to 1 in Float32")
        let a = standardBasis(dimension: 2, indices: [0])
        let b = Tensor(shape: [2, 1], storage: [Float(cos(t)), Float(sin(t))])
        let angles = try PrincipalAngles.between(a, b)
        #expect(abs(angles[0] - t) < 1e-3 * t, "θ = \(angles[0]), expected \(t)")
    }

    @Test("agrees with the arccos plain-loop reference on random subspaces; ascending, in [0, π/2]")
    func agreesWithReference() throws {
        let a = orthonormalColumns(dimension: 12, count: 3, seed: 8)
        let b = orthonormalColumns(dimension: 12, count: 5, seed: 9)
        let fast = try PrincipalAngles.between(a, b)
        let reference = PrincipalAngles.betweenReference(a, b)
        #expect(fast.count == 3 && reference.count == 3)
        for k in 0..<3 {
            #expect(abs(fast[k] - reference[k]) < referenceAgreementTolerance, "θ[\(k)] \(fast[k]) vs \(reference[k])")
            #expect(fast[k] >= 0 && fast[k] <= .pi / 2)
        }
        #expect(fast == fast.sorted())
        #expect(try PrincipalAngles.between(b, a) == fast, "the angles are symmetric in the two bases")
    }

    @Test("between the top singular vectors of two updates: same update → 0, disjoint supports → π/2")
    func betweenUpdates() throws {
        let delta = matrixWithSpectrum(rows: 10, columns: 6, singularValues: [6, 5, 4, 3, 2, 1], seed: 10)
        let same = try PrincipalAngles.betweenTopSingularVectors(of: delta, delta.scaled(by: 2), rank: 3)
        for angle in same { #expect(abs(angle) < angleTolerance, "θ = \(angle)") }
        // Rows 0…4 vs rows 5…9: the column spaces are orthogonal.
        var top = Tensor(shape: [10, 6]), bottom = Tensor(shape: [10, 6])
        for i in 0..<5 { for j in 0..<6 { top[i, j] = delta[i, j]; bottom[i + 5, j] = delta[i, j] } }
        let disjoint = try PrincipalAngles.betweenTopSingularVectors(of: top, bottom, rank: 2, side: .left)
        for angle in disjoint { #expect(abs(angle - .pi / 2) < angleTolerance, "θ = \(angle)") }
    }
}
