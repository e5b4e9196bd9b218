import Testing
@testable import PEFTEngine

/// The tiny model and batch shared by the model tests.
enum TinyModel {
    static let config = try! ModelConfig(vocabSize: 11, dModel: 8, layers: 2, heads: 2, dFF: 16, contextLength: 6)
    static let B = 2, T = 5

    /// A model whose parameters are all random and O(0.3) (LayerNorm gains around 1), so
    /// every gradient is well above the finite-difference noise floor.
    static func make(seed: UInt64 = 7, maxP: Int = 0) -> TransformerModel {
        randomize(TransformerModel(config: config, maxB: B, maxT: T, maxP: maxP), seed: seed)
    }

    /// Fills every parameter of `model` with N(0, 0.3²), norm gains with 1 + N(0, 0.1²).
    static func randomize(_ model: TransformerModel, seed: UInt64) -> TransformerModel {
        var r = TestRandom(seed: seed)
        for v in model.parameters.views {
            let isGain = v.name.hasSuffix("ln1.weight") || v.name.hasSuffix("ln2.weight") || v.name == "ln_f.weight"
            let values = r.normals(v.count, scale: isGain ? 0.1 : 0.3)
            for i in 0..<v.count { model.parameters.values.pointer[v.offset + i] = values[i] + (isGain ? 1 : 0) }
        }
        return model
    }

    /// A fixed batch: tokens, next-token targets and a mask with two positions masked out.
    static func batch(seed: UInt64 = 11) -> (tokens: [Int32], targets: [Int32], mask: [Float]) {
        var r = TestRandom(seed: seed)
        let tokens = (0..<(B * T)).map { _ in Int32(r.int(config.vocabSize)) }
        let targets = (0..<(B * T)).map { _ in Int32(r.int(config.vocabSize)) }
        var mask = [Float](repeating: 1, count: B * T)
        mask[1] = 0
        mask[7] = 0
        return (tokens, targets, mask)
    }
}

/// The tiny LLaMA shared by the LLaMA-block tests: grouped-query attention (4 heads over 2
/// key/value heads, head size 2), tied embeddings, RoPE θ = 500; the same B, T and vocabulary
/// as `TinyModel`, so `TinyModel.batch()` serves both.
enum TinyLlama {
    static let config = try! ModelConfig(architecture: .llama, vocabSize: 11, dModel: 8, layers: 2, heads: 4, kvHeads: 2,
                                         dFF: 12, contextLength: 9, ropeTheta: 500, rmsNormEpsilon: 1e-5, tiedEmbeddings: true)
    static let B = TinyModel.B, T = TinyModel.T

    /// Random O(0.3) weights, norm gains around 1; `untied` gives the model its own head.
    static func make(seed: UInt64 = 7, maxP: Int = 0, untied: Bool = false) -> TransformerModel {
        var c = config
        c.tiedEmbeddings = !untied
        return TinyModel.randomize(TransformerModel(config: c, maxB: B, maxT: T, maxP: maxP), seed: seed)
    }
}
