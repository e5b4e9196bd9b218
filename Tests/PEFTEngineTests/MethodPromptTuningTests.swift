import Foundation
import Testing
@testable import PEFTEngine

/// Prompt tuning: the soft-prompt seam against a hand-built embedding sequence, the
/// prompt embedding kernel, initialisation, validation and decoding.
@Suite("Prompt tuning")
struct MethodPromptTuningTests {
    /// Context 8 holds P = 2 virtual + T = 5 real tokens (plus one spare row). The batch uses
    /// tokens 0..<11 (`TinyModel.batch`); tokens 11 and 12 are free for the reference below.
    static let config = try! ModelConfig(vocabSize: 13, dModel: 8, layers: 2, heads: 2, dFF: 16, contextLength: 8)
    static let B = TinyModel.B, T = TinyModel.T, P = 2
    /// Same function computed over differently ordered sums.
    static let forwardTolerance: Float = 1e-5
    static let gradientTolerance: Float = 1e-5

    /// A model of `config` with every parameter random O(0.3) (gains ≈ 1), like `TinyModel.make`.
    static func randomModel(_ config: ModelConfig = config, maxT: Int = T, maxP: Int = 8, seed: UInt64 = 3) -> TransformerModel {
        TinyModel.randomize(TransformerModel(config: config, maxB: B, maxT: maxT, maxP: maxP), seed: seed)
    }

    static func attached(_ configuration: PromptTuning.Configuration) throws -> (TransformerModel, PromptTuning) {
        let model = randomModel()
        let method = PromptTuning(configuration)
        var rng = SeededRNG(seed: 9)
        try method.attach(to: model, rng: &rng)
        return (model, method)
    }

    static func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    /// The prompted model must equal a plain model run on the sequence
    /// [prompt rows; token embeddings] with positions 0..<P+T: built here as a copy of the
    /// base whose unused tokens 11 and 12 have the prompt rows as embeddings.
    @Test func forwardAndGradientEqualTheBaseModelOnAHandBuiltEmbeddingSequence() throws {
        let (model, method) = try Self.attached(.init(numVirtualTokens: Self.P))
        let C = Self.config.dModel, V = Self.config.vocabSize, P = Self.P, T = Self.T, B = Self.B
        let prompt = method.parameters.tensor(named: "prompt_encoder.embedding.weight").storage
        let free = 11  // first token id the batch never uses
        let plain = TransformerModel(config: Self.config, maxB: B, maxT: P + T)
        #expect(model.activations.maxT == T, "the prompted model needs no room for the prompt rows in maxT")
        for view in plain.parameters.views {
            var values = model.parameters.tensor(named: view.name).storage
            if view.name == "wte" { values.replaceSubrange((free * C)..<((free + P) * C), with: prompt) }
            try plain.parameters.load(named: view.name, from: Tensor(shape: view.shape, storage: values))
        }
        let (tokens, targets, mask) = TinyModel.batch()
        #expect(tokens.allSatisfy { $0 < free })
        var wideTokens: [Int32] = [], wideTargets: [Int32] = [], wideMask: [Float] = []
        for b in 0..<B {
            wideTokens += (0..<P).map { Int32(free + $0) } + tokens[(b * T)..<((b + 1) * T)]
            wideTargets += [Int32](repeating: 0, count: P) + targets[(b * T)..<((b + 1) * T)]
            wideMask += [Float](repeating: 0, count: P) + mask[(b * T)..<((b + 1) * T)]
        }
        model.parameters.zeroGradients(); method.parameters.zeroGradients(); plain.parameters.zeroGradients()
        let loss = model.forward(tokens: tokens, targets: targets, mask: mask, B: B, T: T)
        let plainLoss = plain.forward(tokens: wideTokens, targets: wideTargets, mask: wideMask, B: B, T: P + T)
        #expect(abs(loss - plainLoss) <= Self.forwardTolerance, "loss \(loss) vs \(plainLoss)")

        let logits = model.logits()
        #expect(logits.shape == [B, T, V])
        let plainLogits = plain.logits().storage
        var expected: [Float] = []
        for b in 0..<B {
            let row = (b * (P + T) + P) * V
            expected += plainLogits[row..<(row + T * V)]
        }
        #expect(Self.maxDifference(logits.storage, expected) <= Self.forwardTolerance)
        #expect(model.argmaxPredictions().count == B * T)

        model.backward()
        plain.backward()
        let promptGradient = method.parameters.gradientTensor(named: "prompt_encoder.embedding.weight").storage
        let plainGradient = Array(plain.parameters.gradient(named: "wte").storage[(free * C)..<((free + P) * C)])
        #expect(promptGradient.contains { $0 != 0 })
        #expect(Self.maxDifference(promptGradient, plainGradient) <= Self.gradientTolerance)
        #expect(model.parameters.gradients.copy(0..<model.parameters.count).allSatisfy { $0 == 0 }, "frozen base got gradients")
    }

    @Test func textInitCopiesWteRowsRepeatingOrTruncatingLikePeft() throws {
        let repeated = PromptTuning.Configuration(numVirtualTokens: 5, promptTuningInit: "TEXT", promptTuningInitTokenIDs: [3, 5])
        #expect(repeated.initTokenIDs() == [3, 5, 3, 5, 3])
        let truncated = PromptTuning.Configuration(numVirtualTokens: 2, promptTuningInit: "TEXT", promptTuningInitTokenIDs: [7, 1, 4])
        #expect(truncated.initTokenIDs() == [7, 1])
        let (model, method) = try Self.attached(repeated)
        let wte = model.parameters.tensor(named: "wte").storage, C = Self.config.dModel
        let rows = method.parameters.tensor(named: "prompt_encoder.embedding.weight").storage
        for (p, token) in [3, 5, 3, 5, 3].enumerated() {
            #expect(Array(rows[(p * C)..<((p + 1) * C)]) == Array(wte[(token * C)..<((token + 1) * C)]))
        }
    }

    @Test func randomInitIsStandardNormal() throws {
        let (_, method) = try Self.attached(.init(numVirtualTokens: 6))
        let e = method.parameters.tensor(named: "prompt_encoder.embedding.weight").storage
        let mean = e.reduce(0, +) / Float(e.count)
        let std = (e.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(e.count)).squareRoot()
        // 48 draws: loose bounds (≈ 3 standard errors).
        #expect(abs(mean) < 0.45 && abs(std - 1) < 0.35, "mean \(mean), std \(std)")
    }

    @Test func promptEmbeddingKernelMatchesFiniteDifferences() {
        let B = 2, T = 3, P = 2, C = 4, V = 5, S = P + T
        var r = TestRandom(seed: 17)
        let tokens: [Int32] = [1, 4, 1, 0, 2, 4]
        var prompt = r.normals(P * C), wte = r.normals(V * C), wpe = r.normals(S * C)
        let dy = r.normals(B * S * C)
        func run(_ prompt: [Float], _ wte: [Float], _ wpe: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: B * S * C)
            out.withUnsafeMutableBufferPointer { o in
                withPointers(prompt) { p in withPointers(wte) { e in withPointers(wpe) { w in
                    tokens.withUnsafeBufferPointer { t in
                        Embedding.forward(out: o.baseAddress!, tokens: t.baseAddress!, prompt: p, wte: e, wpe: w, B: B, T: T, P: P, C: C, V: V)
                    }
                } } }
            }
            return out
        }
        var dprompt = [Float](repeating: 0, count: P * C), dwte = [Float](repeating: 0, count: V * C)
        var dwpe = [Float](repeating: 0, count: S * C)
        dprompt.withUnsafeMutableBufferPointer { dp in dwte.withUnsafeMutableBufferPointer { de in dwpe.withUnsafeMutableBufferPointer { dw in
            withPointers(dy) { d in tokens.withUnsafeBufferPointer { t in
                Embedding.backward(dprompt: dp.baseAddress!, dwte: de.baseAddress!, dwpe: dw.baseAddress!, dout: d,
                                   tokens: t.baseAddress!, B: B, T: T, P: P, C: C)
            } }
        } } }
        var failures: [GradCheck.Failure] = []
        failures += GradCheck.check("prompt", input: &prompt, analytic: dprompt) { GradCheck.dot(run($0, wte, wpe), dy) }
        failures += GradCheck.check("wte", input: &wte, analytic: dwte) { GradCheck.dot(run(prompt, $0, wpe), dy) }
        failures += GradCheck.check("wpe", input: &wpe, analytic: dwpe) { GradCheck.dot(run(prompt, wte, $0), dy) }
        #expect(failures.isEmpty, "\(failures)")
        // Row P + t of sequence b is wte[token] + wpe[P + t].
        let out = run(prompt, wte, wpe)
        #expect(out[(1 * S + P + 2) * C + 1] == wte[4 * C + 1] + wpe[(P + 2) * C + 1])
        #expect(out[(1 * S + 1) * C + 3] == prompt[1 * C + 3] + wpe[1 * C + 3])
    }

    @Test func attachFreezesTheBaseAndDetachRemovesThePrompt() throws {
        let (model, method) = try Self.attached(.init(numVirtualTokens: 2))
        #expect(model.parameters.trainableCount == 0)
        #expect(method.trainableParameterCount(model: model) == method.expectedTrainableParameterCount(config: Self.config))
        #expect(method.expectedTrainableParameterCount(config: Self.config) == 2 * 8)
        #expect(method.delta(for: LinearSite(layer: 1, kind: .fc), model: model) == nil)
        #expect(!method.canMerge)
        method.detach(from: model)
        #expect(model.softPrompt == nil)
        #expect(model.parameters.trainableCount == model.parameters.count)
        // Without the prompt the model runs T positions again.
        let (tokens, _, _) = TinyModel.batch()
        model.forward(tokens: tokens, B: Self.B, T: Self.T)
        #expect(model.lastPromptLength == 0)
    }

    @Test func validationErrorsNameTheKey() throws {
        func key(_ body: () throws -> Void) -> String? {
            do { try body() } catch PEFTMethodError.invalidConfiguration(_, let key, _) { return key } catch { return "other: \(error)" }
            return nil
        }
        let c = Self.config
        #expect(key { try PromptTuning.Configuration(numVirtualTokens: 0).validate(for: c) } == "num_virtual_tokens")
        #expect(key { try PromptTuning.Configuration(numVirtualTokens: 8).validate(for: c) } == "num_virtual_tokens")
        #expect(key { try PromptTuning.Configuration(numVirtualTokens: 2, promptTuningInit: "SAMPLE").validate(for: c) } == "prompt_tuning_init")
        #expect(key { try PromptTuning.Configuration(numVirtualTokens: 2, promptTuningInit: "TEXT").validate(for: c) } == "prompt_tuning_init_token_ids")
        #expect(key { try PromptTuning.Configuration(numVirtualTokens: 2, promptTuningInit: "TEXT", promptTuningInitTokenIDs: [2, 13]).validate(for: c) }
                == "prompt_tuning_init_token_ids")
        let model = Self.randomModel(maxP: 2)
        var rng = SeededRNG(seed: 1)
        #expect(key { try PromptTuning(.init(numVirtualTokens: 3)).attach(to: model, rng: &rng) } == "num_virtual_tokens")
        #expect(model.softPrompt == nil && model.parameters.trainableCount == model.parameters.count, "a failed attach touched the model")
    }

    @Test func decodesPeftFieldNamesWithPeftDefaults() throws {
        let decoder = JSONDecoder()
        let text = try decoder.decode(PromptTuning.Configuration.self, from: Data(
            #"{"num_virtual_tokens": 4, "prompt_tuning_init": "TEXT", "prompt_tuning_init_token_ids": [1, 2]}"#.utf8))
        #expect(text == .init(numVirtualTokens: 4, promptTuningInit: "TEXT", promptTuningInitTokenIDs: [1, 2]))
        let empty = try decoder.decode(PromptTuning.Configuration.self, from: Data("{}".utf8))
        #expect(empty == .init(numVirtualTokens: 16, promptTuningInit: "RANDOM", promptTuningInitTokenIDs: nil))
    }
}
