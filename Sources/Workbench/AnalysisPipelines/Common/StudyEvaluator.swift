import Foundation
import PEFTEngine

/// Re-evaluates models built from a study's stored weights on the study's own test sets —
/// the same examples, batch size and metrics the runner used, so a re-evaluation of the
/// stored weights reproduces the stored accuracy matrix row.
///
/// Used by analyses that change weights and measure the effect (the rank-k truncation of
/// ΔW, the NF4 merge): `evaluate(seed:overrides:)` starts from the base model of `seed` and
/// replaces the named parameters.
public final class StudyEvaluator {
    public let results: StudyResults
    let runner: StudyRunner
    private var models: [Int: (model: TransformerModel, base: [Float], examples: [[Example]])] = [:]

    /// - Throws: `StudyError` if the study's tasks cannot be rebuilt (e.g. a user data file moved).
    public init(results: StudyResults, runtime: RuntimeInfo = .current(requested: .inherit)) throws {
        self.results = results
        runner = try StudyRunner(study: results.study, output: results.url, runtime: runtime)
    }

    /// Column names in accuracy-matrix order (skills, then tasks).
    public var columnNames: [String] { runner.resolved.columns.map(\.name) }

    /// Metrics of the base model of `seed` with `overrides` (parameter name → tensor) loaded,
    /// on `columns` (indices into `columnNames`; all when nil), in the order given.
    ///
    /// - Throws: `AnalysisError.missing` for a seed without a stored base, `RunnerError` for an
    ///   override whose name or shape does not match a parameter.
    public func evaluate(seed: Int, overrides: [String: Tensor] = [:], columns: [Int]? = nil) throws -> [TaskMetrics] {
        let state = try modelState(seed: seed)
        let model = state.model
        state.base.withUnsafeBufferPointer { model.parameters.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
        for (name, tensor) in overrides {
            do {
                try model.parameters.load(named: name, from: tensor)
            } catch let error as ParameterStoreError {
                throw RunnerError.checkpoint(path: results.url.path, detail: "override \(name): \(error.description)")
            }
        }
        let trainer = Trainer(model: model)
        let all = runner.resolved.columns
        return try (columns ?? Array(all.indices)).map { c in
            precondition(all.indices.contains(c), "StudyEvaluator.evaluate: column \(c) outside 0..<\(all.count)")
            var metrics = try TaskMetrics.evaluate(all[c].task, trainer: trainer, examples: state.examples[c],
                                                   batchSize: runner.study.evaluation.batch, tokenizer: runner.resolved.tokenizer)
            if all[c].decodesGreedily {
                metrics.greedyExactMatch = try GreedyDecoding.exactMatch(all[c].task, trainer: trainer, examples: state.examples[c],
                                                                         batchSize: runner.study.evaluation.batch, tokenizer: runner.resolved.tokenizer)
            }
            return metrics
        }
    }

    private func modelState(seed: Int) throws -> (model: TransformerModel, base: [Float], examples: [[Example]]) {
        if let state = models[seed] { return state }
        let model = try runner.rebuiltBaseModel(seed: seed, from: results)
        let state = (model: model, base: model.parameters.values.copy(0..<model.parameters.count),
                     examples: runner.heldOutExamples(seed: seed))
        models[seed] = state
        return state
    }
}
