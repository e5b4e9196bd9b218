import Foundation
import Testing
@testable import PEFTEngine

/// A one-block model whose fc weight is [2, 3] (C = 3 → F = 2): small enough to write ΔW by hand.
enum TwoByThreeModel {
    static let config = try! ModelConfig(vocabSize: 5, dModel: 3, layers: 1, heads: 1, dFF: 2, contextLength: 4)
    static let fc = LinearSite(layer: 0, kind: .fc)
    static func make() -> TransformerModel { TinyModel.makeRandom(config: config, maxB: 2, maxT: 4) }
}

extension TinyModel {
    /// A model of `config` with every parameter O(0.3) (LayerNorm gains near 1).
    static func makeRandom(config: ModelConfig, maxB: Int, maxT: Int, seed: UInt64 = 3) -> TransformerModel {
        let model = TransformerModel(config: config, maxB: maxB, maxT: maxT)
        var r = TestRandom(seed: seed)
        for v in model.parameters.views {
            let values = r.normals(v.count, scale: 0.3)
            for i in 0..<v.count { model.parameters.values.pointer[v.offset + i] = values[i] }
        }
        return model
    }
}

/// Named tolerances of the LoRA-family tests.
enum LoRATolerance {
    /// Products of a few exactly representable numbers: exact up to one rounding.
    static let handComputed: Float = 1e-6
    /// Float32 sgemm against a plain Double loop over ≤ 64 terms.
    static let reference: Float = 1e-5
}

@Suite("LoRA")
struct MethodLoRATests {
    /// Attaches `h` to `model` with seed 42.
    static func attach(_ h: LoRAHyperparameters, to model: TransformerModel) throws -> LoRA {
        let lora = LoRA(.init(h))
        var rng = SeededRNG(seed: 42)
        try lora.attach(to: model, rng: &rng)
        return lora
    }

    @Test("ΔW = s·B·A on a hand-made 2×3 weight, and the path adds x·ΔWᵀ")
    func handComputedDelta() throws {
        let model = TwoByThreeModel.make()
        let lora = try Self.attach(.init(r: 2, loraAlpha: 4, targetModules: ["fc"]), to: model)  // s = 4/2 = 2
        try lora.parameters.load(named: "blocks.0.mlp.fc.lora_A", from: Tensor(shape: [2, 3], storage: [1, 0, 2, 0, 1, -1]))
        try lora.parameters.load(named: "blocks.0.mlp.fc.lora_B", from: Tensor(shape: [2, 2], storage: [1, 2, 3, -1]))
        // B·A = [[1, 2, 0], [3, −1, 7]], times s = 2.
        let expected: [Float] = [2, 4, 0, 6, -2, 14]
        let delta = try #require(lora.delta(for: TwoByThreeModel.fc, model: model))
        #expect(delta.shape == [2, 3])
        #expect(zip(delta.storage, expected).allSatisfy { abs($0 - $1) <= LoRATolerance.handComputed }, "ΔW = \(delta.storage)")
        #expect(lora.delta(for: LinearSite(layer: 0, kind: .q), model: model) == nil, "q is not adapted")

        let w = model.parameters.tensor(named: TwoByThreeModel.fc.weightName).storage
        let folded = try #require(lora.effectiveWeight(for: TwoByThreeModel.fc))
        #expect((0..<6).allSatisfy { abs(folded[$0] - (w[$0] + expected[$0])) <= LoRATolerance.handComputed }, "folded W + ΔW")
        lora.path!.forcesAdditive = true
        #expect(lora.effectiveWeight(for: TwoByThreeModel.fc) == nil)
        var y: [Float] = [0, 0]
        let x: [Float] = [1, 1, 1]
        y.withUnsafeMutableBufferPointer { yp in
            x.withUnsafeBufferPointer { lora.forward(site: TwoByThreeModel.fc, x: $0.baseAddress!, y: yp.baseAddress!, rows: 1) }
        }
        #expect(y == [6, 18], "x·ΔWᵀ for x = (1, 1, 1)")
    }

    @Test("the folded form W + s·B·A and the additive path give the same logits and gradients")
    func foldedEqualsAdditive() throws {
        func run(additive: Bool) throws -> (logits: [Float], gradients: [Float]) {
            let model = TinyModel.make()
            let lora = try Self.attach(.init(r: 2, loraAlpha: 4), to: model)
            var rnd = TestRandom(seed: 8)
            for v in lora.parameters.views where v.name.hasSuffix("lora_B") {
                try lora.parameters.load(named: v.name, from: Tensor(shape: v.shape, storage: rnd.normals(v.count, scale: 0.3)))
            }
            lora.path!.forcesAdditive = additive
            #expect(lora.path!.isFolded == !additive)
            let (tokens, targets, mask) = TinyModel.batch()
            model.forward(tokens: tokens, targets: targets, mask: mask, B: TinyModel.B, T: TinyModel.T)
            model.backward()
            return (model.logits().storage, lora.parameters.gradients.copy(0..<lora.parameters.count))
        }
        let folded = try run(additive: false), additive = try run(additive: true)
        let dLogits = zip(folded.logits, additive.logits).map { abs($0 - $1) }.max()!
        let dGrad = zip(folded.gradients, additive.gradients).map { abs($0 - $1) }.max()!
        #expect(dLogits <= LoRATolerance.reference && dGrad <= LoRATolerance.reference, "logits \(dLogits), gradients \(dGrad)")
        #expect(folded.gradients.contains { $0 != 0 })
    }

    /// M = B·T = 200 rows, so the folded backward sees blocks of 64, 64, 64 and 8.
    private enum TwoHundredRows {
        static let B = 5, T = 40
        static let config = try! ModelConfig(vocabSize: 11, dModel: 8, layers: 1, heads: 2, dFF: 16, contextLength: 40)

        /// Random tokens and targets [B, T], every position counted.
        static func batch(seed: UInt64) -> (tokens: [Int32], targets: [Int32], mask: [Float]) {
            var rnd = TestRandom(seed: seed)
            let tokens = (0..<(B * T)).map { _ in Int32(rnd.int(config.vocabSize)) }
            let targets = (0..<(B * T)).map { _ in Int32(rnd.int(config.vocabSize)) }
            return (tokens, targets, [Float](repeating: 1, count: B * T))
        }

        /// A random model with LoRA r = 2, α = 4 on every site and a random (not zero) B.
        static func model() throws -> (TransformerModel, LoRA) {
            let model = TinyModel.makeRandom(config: config, maxB: B, maxT: T)
            let lora = try MethodLoRATests.attach(.init(r: 2, loraAlpha: 4), to: model)
            var rnd = TestRandom(seed: 8)
            for v in lora.parameters.views where v.name.hasSuffix("lora_B") {
                try lora.parameters.load(named: v.name, from: Tensor(shape: v.shape, storage: rnd.normals(v.count, scale: 0.3)))
            }
            return (model, lora)
        }
    }

    @Test("folded backward over several 64-row blocks: same gradients as the additive path for 1–3 chunks, same bits when repeated",
          arguments: [1, 2, 3])
    func foldedBackwardChunks(workers: Int) throws {
        let (B, T) = (TwoHundredRows.B, TwoHundredRows.T), batch = TwoHundredRows.batch(seed: 12)
        func run(additive: Bool) throws -> [Float] {
            let (model, lora) = try TwoHundredRows.model()
            lora.path!.forcesAdditive = additive
            Parallel.$forcedWorkers.withValue(workers) {
                model.forward(tokens: batch.tokens, targets: batch.targets, mask: batch.mask, B: B, T: T)
                model.backward()
            }
            return lora.parameters.gradients.copy(0..<lora.parameters.count)
        }
        let folded = try run(additive: false), again = try run(additive: false), additive = try run(additive: true)
        let worst = zip(folded, additive).map { abs($0 - $1) }.max()!
        #expect(worst <= LoRATolerance.reference, "largest difference \(worst) with \(workers) chunks")
        #expect(folded == again, "the chunked sums are reproducible")
        #expect(folded.contains { $0 != 0 })
    }

    @Test("the folded backward adds to the gradients: two backwards without zeroing give twice one (to rounding), for 1–3 chunks",
          arguments: [1, 2, 3])
    func foldedBackwardAccumulates(workers: Int) throws {
        let (B, T) = (TwoHundredRows.B, TwoHundredRows.T), batch = TwoHundredRows.batch(seed: 13)
        let (model, lora) = try TwoHundredRows.model()
        #expect(lora.path!.isFolded)
        var once: [Float] = []
        Parallel.$forcedWorkers.withValue(workers) {
            model.forward(tokens: batch.tokens, targets: batch.targets, mask: batch.mask, B: B, T: T)
            model.backward()
            once = lora.parameters.gradients.copy(0..<lora.parameters.count)
            model.backward()
        }
        let twice = lora.parameters.gradients.copy(0..<lora.parameters.count)
        // Not bit-exact: the second backward adds its blocks onto the first's sums one at a time.
        let scale = once.map(abs).max()!
        let worst = zip(twice, once).map { abs($0 - 2 * $1) }.max()!
        #expect(scale > 0)
        #expect(worst <= 1e-5 * scale, "largest |twice − 2·once| = \(worst), gradients up to \(scale)")
    }

    @Test("scaling is α/r, or α/√r with use_rslora; ΔW scales with it")
    func scaling() throws {
        #expect(LoRAHyperparameters(r: 4, loraAlpha: 8).scaling == 2)
        #expect(LoRAHyperparameters(r: 4, loraAlpha: 8, useRSLoRA: true).scaling == 4)
        #expect(LoRAHyperparameters().scaling == 1, "peft defaults r = 8, α = 8")
        let plain = try Self.attach(.init(r: 2, loraAlpha: 4, targetModules: ["fc"]), to: TwoByThreeModel.make())
        let rs = try Self.attach(.init(r: 2, loraAlpha: 4, targetModules: ["fc"], useRSLoRA: true), to: TwoByThreeModel.make())
        let b = Tensor(shape: [2, 2], storage: [0.5, -1, 2, 0.25])
        for m in [plain, rs] { try m.parameters.load(named: "blocks.0.mlp.fc.lora_B", from: b) }
        let model = TwoByThreeModel.make()
        let ratio = Float(2).squareRoot()  // (4/√2) / (4/2)
        let dPlain = try #require(plain.delta(for: TwoByThreeModel.fc, model: model))
        let dRS = try #require(rs.delta(for: TwoByThreeModel.fc, model: model))
        for (p, q) in zip(dPlain.storage, dRS.storage) { #expect(abs(p * ratio - q) <= LoRATolerance.reference) }
    }

    @Test("A is Kaiming-uniform within 1/√in, B is zero; a rank-1 ΔW has a singular Gram matrix")
    func initialisationAndRank() throws {
        let model = TinyModel.make()
        let lora = try Self.attach(.init(r: 1, loraAlpha: 2), to: model)
        let a = lora.parameters.tensor(named: "blocks.1.mlp.proj.lora_A")  // in = F = 16
        #expect(a.shape == [1, 16])
        #expect(a.storage.allSatisfy { abs($0) <= 0.25 } && a.storage.contains { $0 != 0 })
        #expect(lora.parameters.tensor(named: "blocks.0.attn.q.lora_B").storage.allSatisfy { $0 == 0 })
        try lora.parameters.load(named: "blocks.0.attn.q.lora_B", from: Tensor(shape: [8, 1], storage: (0..<8).map { Float($0) - 3.5 }))
        let d = try #require(lora.delta(for: LinearSite(layer: 0, kind: .q), model: model))
        // Rows 0 and 1 of a rank-1 matrix are parallel: their 2×2 Gram determinant vanishes.
        let r0 = d.rows(in: 0..<1), r1 = d.rows(in: 1..<2)
        let det = r0.dot(r0) * r1.dot(r1) - r0.dot(r1) * r0.dot(r1)
        #expect(abs(det) <= 1e-4 * r0.dot(r0) * r1.dot(r1))
    }

    @Test("the trainable count is Σ r·(in + out) over adapted sites")
    func parameterCount() throws {
        // q and v of both blocks of the tiny model (C = 8): 2 layers · 2 sites · 2·(8 + 8).
        let h = LoRAHyperparameters(r: 2, loraAlpha: 4, targetModules: ["q", "v"])
        #expect(h.lowRankParameterCount(config: TinyModel.config) == 128)
        let lora = try Self.attach(.init(r: 2, targetModules: ["fc"], layersToTransform: [1]), to: TinyModel.make())
        #expect(lora.parameters.count == 2 * (8 + 16))
        #expect(lora.parameters.names == ["blocks.1.mlp.fc.lora_A", "blocks.1.mlp.fc.lora_B"])
    }

    @Test("dropout is off in evaluation and seeded, fresh per forward, in training")
    func dropout() throws {
        let h = LoRAHyperparameters(r: 2, loraAlpha: 4, loraDropout: 0.5)
        let (tokens, _, _) = TinyModel.batch()
        let site = LinearSite(layer: 0, kind: .q)
        func run(_ training: Bool, forwards: Int = 1) throws -> (logits: [Float], masks: [[UInt8]]) {
            let model = TinyModel.make()
            let lora = try Self.attach(h, to: model)
            try lora.parameters.load(named: "blocks.0.attn.q.lora_B", from: Tensor(shape: [8, 2], storage: (0..<16).map { Float($0) / 8 }))
            lora.isTraining = training
            var masks: [[UInt8]] = []
            for _ in 0..<forwards {
                model.forward(tokens: tokens, B: TinyModel.B, T: TinyModel.T)
                if let m = lora.path!.lastMask(for: site, rows: TinyModel.B * TinyModel.T) { masks.append(m) }
            }
            return (model.logits().storage, masks)
        }
        let noDropout: [Float] = try {
            let model = TinyModel.make()
            let lora = try Self.attach(.init(r: 2, loraAlpha: 4), to: model)
            try lora.parameters.load(named: "blocks.0.attn.q.lora_B", from: Tensor(shape: [8, 2], storage: (0..<16).map { Float($0) / 8 }))
            model.forward(tokens: tokens, B: TinyModel.B, T: TinyModel.T)
            return model.logits().storage
        }()
        let eval = try run(false)
        #expect(eval.masks.isEmpty)
        #expect(eval.logits == noDropout, "evaluation ignores lora_dropout")
        let a = try run(true, forwards: 2), b = try run(true, forwards: 2)
        #expect(a.masks == b.masks && a.logits == b.logits, "same seed, same step: same masks")
        #expect(a.masks[0] != a.masks[1], "each forward draws a new mask")
        #expect(a.logits != noDropout)
        let kept = Double(a.masks[0].reduce(0) { $0 + Int($1) }) / Double(a.masks[0].count)
        #expect(abs(kept - 0.5) < 0.2, "keep fraction \(kept) of 80 draws")
    }

    @Test("with dropout the path's backward matches a plain-loop reference on the drawn mask")
    func dropoutBackward() throws {
        let model = TinyModel.make()
        let p: Float = 0.25, s: Float = 2
        let lora = try Self.attach(.init(r: 2, loraAlpha: 4, loraDropout: p, targetModules: ["fc"]), to: model)
        let site = LinearSite(layer: 0, kind: .fc), M = 3, IC = 8, OC = 16, r = 2
        var rnd = TestRandom(seed: 5)
        try lora.parameters.load(named: "blocks.0.mlp.fc.lora_B", from: Tensor(shape: [OC, r], storage: rnd.normals(OC * r)))
        let A = lora.parameters.tensor(named: "blocks.0.mlp.fc.lora_A").storage
        let B = lora.parameters.tensor(named: "blocks.0.mlp.fc.lora_B").storage
        let x = rnd.normals(M * IC), dy = rnd.normals(M * OC)
        var y = [Float](repeating: 0, count: M * OC), dx = [Float](repeating: 0, count: M * IC)
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { lora.forward(site: site, x: xp.baseAddress!, y: $0.baseAddress!, rows: M) }
            let mask = lora.path!.lastMask(for: site, rows: M)!
            dy.withUnsafeBufferPointer { dyp in
                y.withUnsafeBufferPointer { yp in
                    dx.withUnsafeMutableBufferPointer {
                        _ = lora.backward(site: site, x: xp.baseAddress!, y: yp.baseAddress!, dy: dyp.baseAddress!, dx: $0.baseAddress!, rows: M)
                    }
                }
            }
            // Reference: x̃ = x ⊙ mask/(1−p), h = x̃·Aᵀ, y = s·h·Bᵀ, and its gradients, in Double.
            let xt = (0..<(M * IC)).map { Double(mask[$0]) * Double(x[$0]) / Double(1 - p) }
            var h = [Double](repeating: 0, count: M * r), g = [Double](repeating: 0, count: M * r)
            for m in 0..<M { for k in 0..<r { for i in 0..<IC { h[m * r + k] += xt[m * IC + i] * Double(A[k * IC + i]) } } }
            for m in 0..<M { for k in 0..<r { for o in 0..<OC { g[m * r + k] += Double(s) * Double(dy[m * OC + o]) * Double(B[o * r + k]) } } }
            var worst: Float = 0
            for m in 0..<M { for o in 0..<OC {
                var e: Double = 0
                for k in 0..<r { e += Double(s) * h[m * r + k] * Double(B[o * r + k]) }
                worst = max(worst, abs(Float(e) - y[m * OC + o]))
            } }
            let dA = lora.parameters.gradientTensor(named: "blocks.0.mlp.fc.lora_A").storage
            for k in 0..<r { for i in 0..<IC {
                var e: Double = 0
                for m in 0..<M { e += g[m * r + k] * xt[m * IC + i] }
                worst = max(worst, abs(Float(e) - dA[k * IC + i]))
            } }
            let dB = lora.parameters.gradientTensor(named: "blocks.0.mlp.fc.lora_B").storage
            for o in 0..<OC { for k in 0..<r {
                var e: Double = 0
                for m in 0..<M { e += Double(s) * Double(dy[m * OC + o]) * h[m * r + k] }
                worst = max(worst, abs(Float(e) - dB[o * r + k]))
            } }
            for m in 0..<M { for i in 0..<IC {
                var e: Double = 0
                for k in 0..<r { e += g[m * r + k] * Double(A[k * IC + i]) }
                e *= Double(mask[m * IC + i]) / Double(1 - p)
                worst = max(worst, abs(Float(e) - dx[m * IC + i]))
            } }
            #expect(worst <= LoRATolerance.reference, "largest difference \(worst)")
            #expect(mask.contains(0), "p = 0.25 over 24 draws dropped something")
        }
    }

    @Test("merge folds s·B·A into W and unmerge restores W to within 1e-6")
    func mergeRoundTrip() throws {
        let model = TinyModel.make()
        let lora = try Self.attach(.init(r: 2, loraAlpha: 4), to: model)
        try lora.parameters.load(named: "blocks.1.mlp.proj.lora_B", from: Tensor(shape: [8, 2], repeating: 0.7))
        let w0 = model.parameters.tensor(named: "blocks.1.mlp.proj.weight")
        let delta = try #require(lora.delta(for: LinearSite(layer: 1, kind: .proj), model: model))
        try lora.merge(into: model)
        #expect(lora.isMerged)
        let merged = model.parameters.tensor(named: "blocks.1.mlp.proj.weight")
        #expect(zip(merged.storage, (w0 + delta).storage).allSatisfy { $0 == $1 })
        try lora.unmerge(from: model)
        let back = model.parameters.tensor(named: "blocks.1.mlp.proj.weight")
        #expect(zip(back.storage, w0.storage).allSatisfy { abs($0 - $1) <= 1e-6 })
    }

    @Test("validation names the key: r = 0, r > min(in, out), unknown module, dropout 1")
    func validation() {
        let c = TinyModel.config
        func key(_ h: LoRAHyperparameters) -> String? {
            do { try LoRA.Configuration(h).validate(for: c); return nil } catch let PEFTMethodError.invalidConfiguration(method, key, _) {
                return method == "lora" ? key : "wrong method \(method)"
            } catch { return "unexpected \(error)" }
        }
        #expect(key(.init(r: 0)) == "r")
        #expect(key(.init(r: 9)) == "r", "q is 8×8")
        #expect(key(.init(r: 9, targetModules: ["fc", "proj"])) == "r", "fc is 16×8")
        #expect(key(.init(r: 8, targetModules: ["fc", "proj"])) == nil)
        #expect(key(.init(targetModules: ["q", "x"])) == "target_modules")
        #expect(key(.init(loraDropout: 1.0)) == "lora_dropout")
        #expect(key(.init(loraDropout: -0.1)) == "lora_dropout")
        #expect(key(.init(layersToTransform: [2])) == "layers_to_transform")
        #expect(key(.init(r: 8, loraAlpha: 16, loraDropout: 0.1)) == nil)
        let model = TinyModel.make()
        var rng = SeededRNG(seed: 1)
        #expect(throws: PEFTMethodError.self) { try LoRA(.init(.init(r: 0))).attach(to: model, rng: &rng) }
        #expect(model.linearHook == nil, "a failed attach leaves the model untouched")
    }

    @Test("the configuration decodes peft's keys with peft's defaults")
    func decoding() throws {
        let empty = try JSONDecoder().decode(LoRA.Configuration.self, from: Data("{}".utf8))
        #expect(empty.hyperparameters == LoRAHyperparameters(r: 8, loraAlpha: 8, loraDropout: 0, targetModules: ["all-linear"]))
        let json = #"{"r": 4, "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": ["q", "v"], "layers_to_transform": [1], "use_rslora": true}"#
        let c = try JSONDecoder().decode(LoRA.Configuration.self, from: Data(json.utf8))
        #expect(c.hyperparameters == LoRAHyperparameters(r: 4, loraAlpha: 16, loraDropout: 0.05, targetModules: ["q", "v"], layersToTransform: [1], useRSLoRA: true))
        let again = try JSONDecoder().decode(LoRA.Configuration.self, from: JSONEncoder().encode(c))
        #expect(again == c)
        #expect(Set(LoRA.Configuration.fieldNames) == ["r", "lora_alpha", "lora_dropout", "target_modules", "layers_to_transform", "use_rslora"])
        #expect(LoRA(c).label == "lora r=4 alpha=16 rslora dropout=0.05 targets=q,v layers=1")
    }
}
