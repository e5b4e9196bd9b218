import PEFTEngine

/// Evaluating a task's examples with a `Trainer` (forward only, no parameter change).
extension TaskMetrics {
    /// Teacher-forced metrics of `trainer`'s model on `examples` of `task`: the examples are
    /// batched in order (`Batcher.fillSequential`; the last batch padded with masked-out rows),
    /// each batch goes through `Trainer.evaluate`, and `TaskMetricsAccumulator` sums per-example
    /// correctness from its predictions. `batchSize` must not exceed the model's `maxB`; the
    /// context length is min(model context, activation `maxT`). Throws `BatcherError` for an
    /// example that does not fit or contains characters outside the vocabulary.
    ///
    /// - Multiple-choice items (`Example.choices` non-empty) are scored by summed log-likelihood
    ///   of each choice (`choiceAccuracy`); see `evaluateChoices`.
    /// - With a `reference` model (the base) and a language-modelling task, each batch also runs
    ///   through the reference and `klFromBase` is the mean KL(p_reference ‖ p_model) over the
    ///   answer positions. The reference needs maxB ≥ `batchSize` and maxT ≥ the batch's T.
    public static func evaluate(_ task: any Task, trainer: Trainer, examples: [Example], batchSize: Int,
                                tokenizer: any TaskTokenizer = Vocabulary(), reference: TransformerModel? = nil) throws -> TaskMetrics {
        let model = trainer.model
        precondition(batchSize >= 1 && batchSize <= model.activations.maxB,
                     "evaluate(\(task.name)): batch size \(batchSize) outside 1...\(model.activations.maxB) (model maxB)")
        var accumulator = TaskMetricsAccumulator()
        guard !examples.isEmpty else { return accumulator.metrics(languageModelling: task.isLanguageModelling) }
        if examples.contains(where: { !$0.choices.isEmpty }) {
            return try evaluateChoices(task, trainer: trainer, items: examples, batchSize: batchSize, tokenizer: tokenizer)
        }
        let batcher = try Batcher(task: task, examples: examples, batchSize: batchSize,
                                  contextLength: min(model.config.contextLength, model.activations.maxT), tokenizer: tokenizer)
        let T = batcher.sequenceLength
        let measuresKL = reference != nil && task.isLanguageModelling
        var klRows = [Double](repeating: 0, count: measuresKL ? batchSize * T : 0)
        var klSum = 0.0, klWeight = 0.0
        for b in 0..<batcher.sequentialBatchCount {
            let rows = batcher.fillSequential(startingAt: b * batchSize)
            if measuresKL, let reference { reference.forward(tokens: batcher.tokens, B: batchSize, T: T) }
            let result = trainer.evaluate(tokens: batcher.tokens, targets: batcher.targets, mask: batcher.mask, B: batchSize, T: T)
            accumulator.add(predictions: result.predictions, targets: batcher.targets, mask: batcher.mask,
                            rows: rows, T: T, loss: result.loss)
            if measuresKL, let reference {
                klSum += reference.withLastLogits { p, _, V in
                    model.withLastLogits { q, _, _ in
                        klRows.withUnsafeMutableBufferPointer { out in
                            batcher.mask.withUnsafeBufferPointer { mask in
                                KLDivergence.rows(out: out.baseAddress!, p: p, q: q, mask: mask.baseAddress!, N: batchSize * T, V: V)
                            }
                        }
                    }
                }
                klWeight += Double(batcher.mask.reduce(0, +))
            }
        }
        var metrics = accumulator.metrics(languageModelling: task.isLanguageModelling)
        if measuresKL { metrics.klFromBase = klWeight > 0 ? klSum / klWeight : 0 }
        return metrics
    }

    /// Multiple-choice scoring: every (prompt, choice) pair is one row whose loss covers the
    /// choice's tokens only (no end marker); the item is right when its `answer` has the largest
    /// Σ ln p over its tokens (the first of equal sums wins). Exact match, token accuracy and
    /// mean loss are those of the correct answers' rows.
    static func evaluateChoices(_ task: any Task, trainer: Trainer, items: [Example], batchSize: Int,
                                tokenizer: any TaskTokenizer) throws -> TaskMetrics {
        var rows: [Example] = [], owner: [Int] = [], isAnswer: [Bool] = []
        for (i, item) in items.enumerated() {
            precondition(item.choices.contains(item.answer), "\(task.name): item \(i) \(item) lists no choice equal to its answer")
            for choice in item.choices {
                rows.append(Example(prompt: item.prompt, answer: choice, endsWithMarker: false))
                owner.append(i)
                isAnswer.append(choice == item.answer)
            }
        }
        let model = trainer.model
        let batcher = try Batcher(task: task, examples: rows, batchSize: batchSize,
                                  contextLength: min(model.config.contextLength, model.activations.maxT), tokenizer: tokenizer)
        let T = batcher.sequenceLength
        var score = [Double](repeating: 0, count: rows.count)
        var exactly = 0, tokens = 0, correctTokens = 0, lossSum = 0.0
        for b in 0..<batcher.sequentialBatchCount {
            let start = b * batchSize
            let real = batcher.fillSequential(startingAt: start)
            let result = trainer.evaluate(tokens: batcher.tokens, targets: batcher.targets, mask: batcher.mask, B: batchSize, T: T)
            let losses = model.lastPositionLosses()
            for r in 0..<real {
                var sum = 0.0, right = 0, counted = 0
                for n in (r * T)..<((r + 1) * T) where batcher.mask[n] != 0 {
                    sum += Double(losses[n])
                    counted += 1
                    if result.predictions[n] == batcher.targets[n] { right += 1 }
                }
                score[start + r] = -sum
                if isAnswer[start + r] {
                    tokens += counted
                    correctTokens += right
                    lossSum += sum
                    if right == counted { exactly += 1 }
                }
            }
        }
        var chosen = [Int](repeating: -1, count: items.count), best = [Double](repeating: -.infinity, count: items.count)
        for (row, item) in owner.enumerated() where chosen[item] < 0 || score[row] > best[item] {
            chosen[item] = row
            best[item] = score[row]
        }
        let right = chosen.filter { isAnswer[$0] }.count
        let n = Double(items.count)
        return TaskMetrics(exampleCount: items.count, answerTokenCount: tokens, exactMatch: Double(exactly) / n,
                           tokenAccuracy: tokens == 0 ? 0 : Double(correctTokens) / Double(tokens),
                           meanLoss: tokens == 0 ? 0 : lossSum / Double(tokens), perplexity: nil,
                           choiceAccuracy: Double(right) / n)
    }
}
