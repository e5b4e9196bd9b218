import Analysis
import PEFTEngine
import Testing

/// |max|cos| − expected| and energy-share error for a 24×24 Float32 construction whose
/// singular values are separated by ≥ 0.5.
private let cosineTolerance = 1e-4

/// W₀ = U₀·diag(s)·V₀ᵀ (24×24) with s = 10, 9.5, …, 2.5 (16 values) then 0.8, 0.7, …, 0.1
/// (all distinct, so W₀'s singular vectors are unique up to sign), and the update
/// ΔW = σ·u·vᵀ with u = U₀·e, v = V₀·e, e = Σ_{j≥16} e_j/√8: a large direction orthogonal to
/// W₀'s top-16 space. In the bases U₀, V₀, W = diag(s) + σ·e·eᵀ: the top-16 block is untouched
/// (W's next singular vectors are exactly W₀'s) and the tail block diag(d) + σ·e·eᵀ has its
/// top eigenpair from the secular equation (`tailTopEigenpair`).
private struct IntruderCase {
    let base: Tensor
    let update: Tensor
    let spectrum: [Double]

    init(updateScale: Double) {
        let n = 24
        var generator = SeededGenerator(seed: 17)
        let u0 = randomOrthogonal(n, generator: &generator)
        let v0 = randomOrthogonal(n, generator: &generator)
        let head: [Double] = (0..<16).map { 10 - 0.5 * Double($0) }
        let tail: [Double] = (0..<8).map { 0.8 - 0.1 * Double($0) }
        spectrum = head + tail
        var w0 = Tensor(shape: [n, n]), delta = Tensor(shape: [n, n])
        let weight = 1 / 8.0.squareRoot()
        for i in 0..<n {
            var ui = 0.0
            for l in 16..<n { ui += u0[i * n + l] * weight }
            for j in 0..<n {
                var sum = 0.0, vj = 0.0
                for l in 0..<n { sum += u0[i * n + l] * spectrum[l] * v0[j * n + l] }
                for l in 16..<n { vj += v0[j * n + l] * weight }
                w0[i, j] = Float(sum)
                delta[i, j] = Float(updateScale * ui * vj)
            }
        }
        base = w0
        update = delta
    }
}

/// Top eigenpair of diag(d) + σ·e·eᵀ with e = (1, …, 1)/√n, in Float64: λ > max d solves the
/// secular equation 1 = (σ/n)·Σⱼ 1/(λ − dⱼ) (found by bisection on (max d, max d + σ]), and the
/// eigenvector is ∝ (λI − D)⁻¹·e, whose largest component is its largest |cos| with the eⱼ.
private func tailTopEigenpair(d: [Double], sigma: Double) -> (value: Double, maxAbsCosine: Double) {
    let n = Double(d.count), top = d.max()!
    var low = top, high = top + sigma
    for _ in 0..<200 {
        let mid = (low + high) / 2
        let f = sigma / n * d.reduce(0) { $0 + 1 / (mid - $1) } - 1
        if f > 0 { low = mid } else { high = mid }
    }
    let lambda = (low + high) / 2
    let components = d.map { 1 / (lambda - $0) }
    let norm = components.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return (lambda, components.max()! / norm)
}

@Suite("Intruder dimensions (Shuttleworth et al. 2024)")
struct SubspaceIntruderTests {
    @Test("ΔW = 0: no intruders, every top vector of W is one of W₀'s (max |cos| = 1)")
    func noUpdateNoIntruders() throws {
        let setup = IntruderCase(updateScale: 0)
        let result = try IntruderDimensions.find(base: setup.base, update: setup.update, nullSamples: 50)
        #expect(result.count == 0 && result.intruderIndices.isEmpty && result.intruderEnergyShare == 0)
        #expect(result.k == 10 && result.epsilon == 0.5 && result.maxAbsCosine.count == 10)
        for (i, c) in result.maxAbsCosine.enumerated() { #expect(abs(c - 1) < cosineTolerance, "max|cos|[\(i)] = \(c)") }
    }

    @Test("a large new direction orthogonal to W₀'s top space is one intruder with its energy share")
    func oneLargeNewDirection() throws {
        let setup = IntruderCase(updateScale: 20)
        let result = try IntruderDimensions.find(base: setup.base, update: setup.update, k: 10, epsilon: 0.5, nullSamples: 50)
        #expect(result.intruderIndices == [0])
        let tail = tailTopEigenpair(d: Array(setup.spectrum[16...]), sigma: 20)
        #expect(tail.maxAbsCosine < 0.5, "premise: the new direction is an intruder (max|cos| \(tail.maxAbsCosine))")
        #expect(abs(result.maxAbsCosine[0] - tail.maxAbsCosine) < cosineTolerance,
                "max|cos| = \(result.maxAbsCosine[0]), expected \(tail.maxAbsCosine)")
        for i in 1..<10 { #expect(abs(result.maxAbsCosine[i] - 1) < cosineTolerance) }
        let intruderEnergy = tail.value * tail.value
        let rest = setup.spectrum[0..<9].reduce(0) { $0 + $1 * $1 }
        let expectedShare = intruderEnergy / (intruderEnergy + rest)
        #expect(abs(result.intruderEnergyShare - expectedShare) < cosineTolerance, "share \(result.intruderEnergyShare), expected \(expectedShare)")
        // With ε below its max |cos| (≈ 1/√8 ≈ 0.35) the same direction no longer counts.
        let strict = try IntruderDimensions.find(base: setup.base, update: setup.update, epsilon: 0.3, nullSamples: 50)
        #expect(strict.count == 0)
    }

    @Test("the null statistic is deterministic per seed and shows that random directions at width 24 look like intruders")
    func nullStatistic() throws {
        let setup = IntruderCase(updateScale: 20)
        let first = try IntruderDimensions.find(base: setup.base, update: setup.update, nullSamples: 400, seed: 5)
        let again = try IntruderDimensions.find(base: setup.base, update: setup.update, nullSamples: 400, seed: 5)
        let other = try IntruderDimensions.find(base: setup.base, update: setup.update, nullSamples: 400, seed: 6)
        #expect(first == again)
        #expect(first.null.samples == 400 && first.null.seed == 5)
        #expect(first.null != other.null)
        // Against 24 orthonormal vectors a unit vector has max |cos| ≥ 1/√24 ≈ 0.204.
        #expect(first.null.meanMaxAbsCosine > 1 / 24.0.squareRoot() && first.null.meanMaxAbsCosine < 1)
        // A random unit vector's coordinates in W₀'s basis are ≈ N(0, 1/24); the largest of 24
        // |N(0, 1)| is typically ≈ 2.1, so max |cos| ≈ 2.1/√24 ≈ 0.43 < ε = 0.5 for most of them.
        #expect(first.null.intruderFraction > 0.5, "null intruder fraction \(first.null.intruderFraction)")
    }
}
