import PEFTEngine

/// Evaluating a task's examples with a `Trainer` (forward only, no parameter change).
extension TaskMetrics {
    /// Teacher-forced metrics of `trainer`'s model on `examples` of `task`: the examples are
    /// batched in order (`Batcher.fillSequential`; the last batch padded with masked-out rows),
    /// each batch goes through `Trainer.evaluate`, and `TaskMetricsAccumulator` sums per-example
    /// correctness from its predictions. `batchSize` must not exceed the model's `maxB`; the
    /// context length is min(model context, activation `maxT`). Throws `BatcherError` for an
    /// example that does not fit or contains characters outside the vocabulary.
    public static func evaluate(_ task: any Task, trainer: Trainer, examples: [Example], batchSize: Int) throws -> TaskMetrics {
        let model = trainer.model
        precondition(batchSize >= 1 && batchSize <= model.activations.maxB,
                     "evaluate(\(task.name)): batch size \(batchSize) outside 1...\(model.activations.maxB) (model maxB)")
        var accumulator = TaskMetricsAccumulator()
        guard !examples.isEmpty else { return accumulator.metrics(languageModelling: task.isLanguageModelling) }
        let batcher = try Batcher(task: task, examples: examples, batchSize: batchSize,
                                  contextLength: min(model.config.contextLength, model.activations.maxT))
        let T = batcher.sequenceLength
        for b in 0..<batcher.sequentialBatchCount {
            let rows = batcher.fillSequential(startingAt: b * batchSize)
            let result = trainer.evaluate(tokens: batcher.tokens, targets: batcher.targets, mask: batcher.mask, B: batchSize, T: T)
            accumulator.add(predictions: result.predictions, targets: batcher.targets, mask: batcher.mask,
                            rows: rows, T: T, loss: result.loss)
        }
        return accumulator.metrics(languageModelling: task.isLanguageModelling)
    }
}
