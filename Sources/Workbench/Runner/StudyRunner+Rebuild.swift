import Foundation
import PEFTEngine

/// The seam through which analyses rebuild what the runner trained and evaluated — the base
/// model of a seed and its held-out examples — without reaching into the runner's internals.
/// A re-evaluation through it uses exactly the model shape, weights, examples and tokenizer the
/// run used, so it reproduces the stored accuracy matrix.
extension StudyRunner {
    /// The base model of `seed` as every cell started from it: a pretrained base's weights read
    /// from its checkpoint (one shared copy), or the base weights stored in `results`.
    ///
    /// - Throws: `AnalysisError.missing` for a seed without a base, `RunnerError` for
    ///   unreadable weights.
    public func rebuiltBaseModel(seed: Int, from results: StudyResults) throws -> TransformerModel {
        guard results.seeds.contains(seed) else {
            throw AnalysisError.missing(path: results.url.path, object: "/seed\(seed)/base",
                                        hint: "seeds with a base: \(results.seeds.map(String.init).joined(separator: ", "))")
        }
        let model = makeModel()
        if resolved.checkpoint != nil {
            try pretrainedWeights().withUnsafeBufferPointer { model.parameters.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
        } else {
            try loadWeights(into: model, from: try results.baseGroup(seed: seed).group("weights"), source: results.url.path)
        }
        return model
    }

    /// The held-out examples of every column (skills, then tasks) for `seed`: the ones every
    /// stage of the run was evaluated on.
    public func heldOutExamples(seed: Int) -> [[Example]] { testExamples(seed: seed) }
}
