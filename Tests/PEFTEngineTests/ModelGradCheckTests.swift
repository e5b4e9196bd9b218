import Testing
@testable import PEFTEngine

/// The whole model's backward agrees with finite differences of the loss, and the PEFT
/// seams (frozen weights, prefix K/V, linear-site hooks) behave as documented.
@Suite struct ModelGradCheckTests {
    /// Loss-level checks: the loss is O(1), so Float32 noise in it is ≈ 1e-7 / 2ε ≈ 1e-5.
    static let epsilon: Float = 1e-2
    static let absoluteTolerance = 2e-4
    static let relativeTolerance = 3e-2
    /// Entries sampled per parameter tensor.
    static let samplesPerTensor = 4

    /// Checks sampled entries of one arena region against finite differences of the loss.
    static func check(
        _ name: String, arena: FloatArena, gradients: FloatArena, range: Range<Int>,
        seed: UInt64, loss: () -> Float
    ) -> [GradCheck.Failure] {
        var r = TestRandom(seed: seed)
        var failures: [GradCheck.Failure] = []
        let picks = range.count <= samplesPerTensor ? Array(range) : (0..<samplesPerTensor).map { _ in range.lowerBound + r.int(range.count) }
        for i in picks {
            let saved = arena.pointer[i]
            arena.pointer[i] = saved + epsilon
            let plus = Double(loss())
            arena.pointer[i] = saved - epsilon
            let minus = Double(loss())
            arena.pointer[i] = saved
            let numeric = (plus - minus) / (2 * Double(epsilon))
            let analytic = Double(gradients.pointer[i])
            if abs(analytic - numeric) > absoluteTolerance + relativeTolerance * max(abs(analytic), abs(numeric)) {
                failures.append(.init(name: name, index: i - range.lowerBound, analytic: analytic, numeric: numeric))
            }
        }
        return failures
    }

    @Test func everyParameterTensorMatchesFiniteDifferences() {
        let model = TinyModel.make()
        let (tokens, targets, mask) = TinyModel.batch()
        let B = TinyModel.B, T = TinyModel.T
        model.parameters.zeroGradients()
        model.forward(tokens: tokens, targets: targets, mask: mask, B: B, T: T)
        model.backward()
        var failures: [GradCheck.Failure] = []
        var nonZero = 0
        for (i, v) in model.parameters.views.enumerated() {
            failures += Self.check(v.name, arena: model.parameters.values, gradients: model.parameters.gradients,
                                   range: v.range, seed: UInt64(i)) {
                model.forward(tokens: tokens, targets: targets, mask: mask, B: B, T: T)
            }
            if model.parameters.gradients.copy(v.range).contains(where: { $0 != 0 }) { nonZero += 1 }
        }
        #expect(failures.isEmpty, "model gradients: \(failures)")
        // wpe row T (position 5) is never used; every tensor still has some non-zero gradient.
        #expect(nonZero == model.parameters.views.count)
    }

    @Test func prefixKeysAndValuesMatchFiniteDifferences() {
        let P = 2
        let model = TinyModel.make(maxP: P)
        let prefix = PrefixKV(config: TinyModel.config, length: P)
        var r = TestRandom(seed: 21)
        let k = r.normals(prefix.keys.count, scale: 0.5), v = r.normals(prefix.values.count, scale: 0.5)
        for i in 0..<k.count { prefix.keys.pointer[i] = k[i]; prefix.values.pointer[i] = v[i] }
        model.prefix = prefix
        let (tokens, targets, mask) = TinyModel.batch()
        let B = TinyModel.B, T = TinyModel.T
        model.parameters.zeroGradients()
        model.forward(tokens: tokens, targets: targets, mask: mask, B: B, T: T)
        model.backward()
        let loss = { model.forward(tokens: tokens, targets: targets, mask: mask, B: B, T: T) }
        var failures: [GradCheck.Failure] = []
        for l in 0..<TinyModel.config.layers {
            let range = (l * prefix.layerStride)..<((l + 1) * prefix.layerStride)
            failures += Self.check("prefix.\(l).keys", arena: prefix.keys, gradients: prefix.keyGradients, range: range, seed: UInt64(l), loss: loss)
            failures += Self.check("prefix.\(l).values", arena: prefix.values, gradients: prefix.valueGradients, range: range, seed: UInt64(l + 9), loss: loss)
        }
        let q = model.parameters.view(named: "blocks.0.attn.q.weight")
        failures += Self.check(q.name, arena: model.parameters.values, gradients: model.parameters.gradients, range: q.range, seed: 3, loss: loss)
        #expect(failures.isEmpty, "prefix gradients: \(failures)")
    }

    @Test func frozenWeightsGetNoGradientAndOthersAreUnchanged() {
        let model = TinyModel.make()
        let (tokens, targets, mask) = TinyModel.batch()
        let store = model.parameters
        store.zeroGradients()
        model.forward(tokens: tokens, targets: targets, mask: mask, B: TinyModel.B, T: TinyModel.T)
        model.backward()
        let full = store.gradients.copy(0..<store.count)

        let frozen: Set<String> = ["wte", "blocks.0.attn.q.weight", "blocks.0.mlp.fc.weight", "blocks.1.attn.v.bias",
                                   "blocks.1.ln2.weight", "lm_head.weight"]
        for name in frozen { store.setRequiresGrad(false, named: name) }
        store.gradients.zeroAll()
        model.forward(tokens: tokens, targets: targets, mask: mask, B: TinyModel.B, T: TinyModel.T)
        model.backward()
        let partial = store.gradients.copy(0..<store.count)
        for v in store.views {
            if frozen.contains(v.name) {
                #expect(partial[v.range].allSatisfy { $0 == 0 }, "\(v.name) is frozen but got a gradient")
            } else {
                #expect(Array(partial[v.range]) == Array(full[v.range]), "\(v.name) changed when others were frozen")
            }
        }
        #expect(store.trainableCount == store.count - frozen.reduce(0) { $0 + store.view(named: $1).count })
    }
}
