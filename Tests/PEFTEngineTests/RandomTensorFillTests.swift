import Testing
@testable import PEFTEngine

/// Random tensor fills: shapes, determinism, ranges and PyTorch's nn.Linear default init bound.
@Suite("Random tensor fills")
struct RandomTensorFillTests {
    @Test("the same seed gives identical tensors; a fill draws elements in row-major order")
    func deterministicFills() {
        var a = SeededRNG(seed: 42), b = SeededRNG(seed: 42)
        #expect(Tensor.normal([3, 5], rng: &a) == Tensor.normal([3, 5], rng: &b))
        #expect(Tensor.uniform([7], low: -2, high: 2, rng: &a) == Tensor.uniform([7], low: -2, high: 2, rng: &b))
        var c = SeededRNG(seed: 42), d = SeededRNG(seed: 42)
        let t = Tensor.uniform([2, 3], low: 0, high: 1, rng: &c)
        #expect(t.storage == (0..<6).map { _ in d.uniform(low: 0, high: 1) })
    }

    @Test("uniform and normal fills have the requested shape, range and moments")
    func fillStatistics() {
        var r = SeededRNG(seed: 17)
        let u = Tensor.uniform([200, 250], low: -0.5, high: 1.5, rng: &r)
        #expect(u.shape == [200, 250])
        #expect(u.min() >= -0.5 && u.max() < 1.5)
        // 50k draws: standard error of the mean = 2/√12/√50000 ≈ 2.6e-3.
        #expect(abs(u.mean() - 0.5) < 0.013, "uniform mean \(u.mean())")
        let z = Tensor.normal([200, 250], mean: 3, std: 2, rng: &r)
        // Standard errors: mean 2/√50000 ≈ 8.9e-3; std ≈ 2/√100000 ≈ 6.3e-3.
        let centred = z.adding(scalar: -z.mean())
        let std = centred.frobeniusNorm() / Float(z.count).squareRoot()
        #expect(abs(z.mean() - 3) < 0.045, "normal mean \(z.mean())")
        #expect(abs(std - 2) < 0.032, "normal std \(std)")
    }

    @Test("the kaiming bound with a = √5 is 1/√fan_in", arguments: [1, 3, 64, 127, 512, 4096])
    func kaimingBound(fanIn: Int) {
        let bound = Tensor.kaimingUniformBound(fanIn: fanIn)
        let expected = Float(1 / Double(fanIn).squareRoot())
        #expect(abs(bound - expected) <= expected.ulp, "fan_in \(fanIn): \(bound) vs \(expected)")
        // Other a: ReLU gain (a = 0) gives sqrt(6 / fan_in).
        let relu = Tensor.kaimingUniformBound(fanIn: fanIn, a: 0)
        #expect(abs(relu - Float((6 / Double(fanIn)).squareRoot())) <= relu.ulp)
    }

    @Test("kaimingUniform [out, in] respects ±1/√in and nearly reaches it")
    func kaimingFill() {
        var r = SeededRNG(seed: 0).fork("kaiming")
        let w = Tensor.kaimingUniform(shape: [96, 128], rng: &r)
        let bound = Tensor.kaimingUniformBound(fanIn: 128)
        #expect(w.shape == [96, 128])
        #expect(w.min() >= -bound && w.max() < bound)
        // 12 288 draws: the extremes come within 0.1 % of the bound with overwhelming probability.
        #expect(w.max() > 0.999 * bound && w.min() < -0.999 * bound)
    }

    @Test("forked generators give different tensors for different labels")
    func forkedFillsDiffer() {
        let root = SeededRNG(seed: 42)
        var q = root.fork("layer0.q"), k = root.fork("layer0.k")
        #expect(Tensor.kaimingUniform(shape: [4, 4], rng: &q) != Tensor.kaimingUniform(shape: [4, 4], rng: &k))
    }
}
