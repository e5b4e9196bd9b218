import Foundation
import Testing
@testable import PEFTEngine

/// AdamW, gradient clipping and the learning-rate schedules against hand-computed values.
@Suite struct OptimTests {
    @Test func adamWStepMatchesHandComputation() {
        // One step, t = 1: m̂ = g, v̂ = g², so the Adam part is lr·g/(|g| + ε) ≈ lr·sign(g).
        // w = [1, −2, 0.5], g = [0.1, −0.2, 0], lr = 0.1, wd = 0.1, ε = 1e-8 (decayed segment):
        //   w0: 1 − 0.1·0.1·1 − 0.1·0.1/(0.1 + 1e-8)      = 0.99 − 0.1 = 0.89
        //   w1: −2 + 0.1·0.1·2 + 0.1·0.2/(0.2 + 1e-8)     = −1.98 + 0.1 = −1.88
        //   w2: 0.5 − 0.1·0.1·0.5 − 0                      = 0.495
        let w = FloatArena(count: 3), g = FloatArena(count: 3)
        for (i, x) in [Float(1), -2, 0.5].enumerated() { w.pointer[i] = x }
        for (i, x) in [Float(0.1), -0.2, 0].enumerated() { g.pointer[i] = x }
        let adam = AdamW(parameterCount: 3, hyperparameters: .init(beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1))
        adam.update(values: w, gradients: g, segments: [TrainableSegment(range: 0..<3, decays: true)], lr: 0.1)
        let expected: [Float] = [0.89, -1.88, 0.495]
        for i in 0..<3 { #expect(abs(w.pointer[i] - expected[i]) < 1e-6, "w[\(i)] = \(w.pointer[i])") }
        #expect(abs(adam.m.pointer[1] - (-0.02)) < 1e-7)  // (1 − β1)·g
        #expect(abs(adam.v.pointer[1] - 0.001 * 0.04) < 1e-9)  // (1 − β2)·g²

        // Second step with the same gradient, no decay segment: m = 0.19·g, v = 0.001999·g²,
        // m̂ = 0.19g/0.19 = g, v̂ = g², so again w −= lr·g/(|g| + ε).
        adam.update(values: w, gradients: g, segments: [TrainableSegment(range: 0..<3, decays: false)], lr: 0.1)
        #expect(abs(w.pointer[0] - 0.79) < 1e-5)
        #expect(abs(w.pointer[2] - 0.495) < 1e-7, "zero gradient and no decay: unchanged")
    }

    @Test("a step's forward, backward and update times are positive and add up to at most the step's wall time")
    func stepPhaseTimes() {
        let model = TinyModel.make()
        let trainer = Trainer(model: model)
        #expect(trainer.lastStepTimes == Trainer.StepTimes(forward: .zero, backward: .zero, update: .zero))
        let (tokens, targets, mask) = TinyModel.batch()
        let clock = ContinuousClock()
        let wall = clock.measure { trainer.step(tokens: tokens, targets: targets, mask: mask, B: TinyModel.B, T: TinyModel.T) }
        let t = trainer.lastStepTimes
        #expect(t.forward > .zero && t.backward > .zero && t.update > .zero, "\(t)")
        #expect(t.forward + t.backward + t.update <= wall, "\(t) within \(wall)")
    }

    @Test("the global norm's fixed block tree: within 1e-12 of the serial sum, the same bits for any chunking")
    func globalNormIsChunkingInvariant() {
        let n = 3 * GradientClipping.normBlock + 1237
        let g = FloatArena(count: n + 10)
        var r = TestRandom(seed: 5)
        let values = r.normals(n + 10)
        for i in 0..<(n + 10) { g.pointer[i] = values[i] }
        let segments = [TrainableSegment(range: 3..<(n / 2), decays: true), TrainableSegment(range: (n / 2 + 5)..<(n + 7), decays: false)]
        var serial = 0.0
        for s in segments { for i in s.range { serial += Double(g.pointer[i]) * Double(g.pointer[i]) } }
        let one = Parallel.$forcedWorkers.withValue(1) { GradientClipping.globalNorm(g, segments: segments) }
        let four = Parallel.$forcedWorkers.withValue(4) { GradientClipping.globalNorm(g, segments: segments) }
        #expect(one == four)
        #expect(abs(one - serial.squareRoot()) <= 1e-12 * serial.squareRoot())
    }

    @Test func clippingScalesToTheStatedNorm() {
        let g = FloatArena(count: 4)
        for (i, x) in [Float(3), 4, 100, 0].enumerated() { g.pointer[i] = x }
        let segments = [TrainableSegment(range: 0..<2, decays: false)]  // only the first two count: norm 5
        let before = GradientClipping.clip(g, segments: segments, maxNorm: 1)
        #expect(before == 5)
        #expect(abs(GradientClipping.globalNorm(g, segments: segments) - 1) < 1e-6)
        #expect(abs(g.pointer[0] - 0.6) < 1e-6 && abs(g.pointer[1] - 0.8) < 1e-6)
        #expect(g.pointer[2] == 100, "outside the trainable segments: untouched")
        let small = GradientClipping.clip(g, segments: segments, maxNorm: 2)
        #expect(abs(small - 1) < 1e-6 && abs(g.pointer[0] - 0.6) < 1e-6, "below the bound: unchanged")
    }

    @Test func scheduleValuesAtHandCheckedSteps() {
        let cosine = LRSchedule.cosine(warmup: 10, total: 110, minLR: 1e-4)
        #expect(abs(cosine.rate(step: 0, base: 1e-3) - 1e-4) < 1e-10)  // 1e-3 · 1/10
        #expect(abs(cosine.rate(step: 4, base: 1e-3) - 5e-4) < 1e-9)
        #expect(cosine.rate(step: 10, base: 1e-3) == 1e-3)  // p = 0: peak
        #expect(abs(cosine.rate(step: 60, base: 1e-3) - 5.5e-4) < 1e-9)  // p = ½: midpoint of peak and min
        let quarter: Double = 1e-4 + 0.5 * 9e-4 * (1 + cos(Double.pi / 4))  // p = ¼
        #expect(abs(Double(cosine.rate(step: 35, base: 1e-3)) - quarter) < 1e-9)
        #expect(abs(cosine.rate(step: 110, base: 1e-3) - 1e-4) < 1e-10)
        #expect(abs(cosine.rate(step: 500, base: 1e-3) - 1e-4) < 1e-10)
        let constant = LRSchedule.constant(warmup: 4)
        #expect(constant.rate(step: 1, base: 2) == 1)
        #expect(constant.rate(step: 3, base: 2) == 2)
        #expect(constant.rate(step: 1000, base: 2) == 2)
        #expect(LRSchedule.constant(warmup: 0).rate(step: 0, base: 3) == 3)
    }
}
