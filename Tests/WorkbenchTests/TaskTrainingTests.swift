import Testing
import PEFTEngine
@testable import Workbench

/// End to end: a task, the batcher, `Trainer` and `TaskMetrics.evaluate` together.
@Suite struct TaskTrainingTests {
    static let config = try! ModelConfig(vocabSize: Vocabulary.size, dModel: 32, layers: 2, heads: 4, dFF: 64, contextLength: 16)
    static let B = 32, steps = 300
    /// Held-out token-accuracy bound after `steps` steps on copy of 1–3 letters. Chance is
    /// ≈ 1/26 on letters; the end marker and the copy rule make > 0.9 reachable.
    static let tokenAccuracyBound = 0.9

    @Test func tinyModelLearnsToCopyShortStrings() throws {
        let task = CopyTask(lengths: 1...3, testSize: 100)
        let model = TransformerModel(config: Self.config, maxB: Self.B, maxT: Self.config.contextLength)
        model.parameters.initialize(seed: 3)
        let trainer = Trainer(model: model, settings: .init(
            learningRate: 1e-2, schedule: .cosine(warmup: 20, total: Self.steps, minLR: 1e-3), maxGradNorm: 1))
        let test = task.examples(split: .test, count: 100, seed: 1)
        let before = try TaskMetrics.evaluate(task, trainer: trainer, examples: test, batchSize: Self.B)

        let batcher = try Batcher(task: task, examples: task.examples(split: .train, count: 2000, seed: 1),
                                  batchSize: Self.B, contextLength: Self.config.contextLength, seed: 1)
        for _ in 0..<Self.steps {
            batcher.nextTrainingBatch()
            trainer.step(tokens: batcher.tokens, targets: batcher.targets, mask: batcher.mask, B: Self.B, T: batcher.sequenceLength)
        }
        let after = try TaskMetrics.evaluate(task, trainer: trainer, examples: test, batchSize: Self.B)

        #expect(after.exampleCount == 100)                      // 4 batches, the last one padded
        #expect(before.tokenAccuracy < 0.2, "untrained accuracy \(before.tokenAccuracy)")
        #expect(after.tokenAccuracy > Self.tokenAccuracyBound, "token accuracy \(after.tokenAccuracy), exact match \(after.exactMatch), loss \(after.meanLoss)")
        #expect(after.meanLoss < before.meanLoss)
        // Greedy decoding can only be stricter than the teacher-forced proxy.
        let greedy = try GreedyDecoding.exactMatch(task, trainer: trainer, examples: test, batchSize: Self.B)
        #expect(greedy <= after.exactMatch + 1e-12, "greedy \(greedy) vs teacher-forced \(after.exactMatch)")
        #expect(greedy > 0.8, "greedy exact match \(greedy)")
    }

    @Test func evaluationMatchesTheTrainersOwnCountsAndIgnoresPaddingRows() throws {
        let task = GrammarTask(testSize: 10)
        let model = TransformerModel(config: try ModelConfig(vocabSize: Vocabulary.size, dModel: 16, layers: 1, heads: 2, dFF: 32, contextLength: 64),
                                     maxB: 4, maxT: 64)
        model.parameters.initialize(seed: 4)
        let trainer = Trainer(model: model)
        let examples = task.examples(split: .test, count: 10, seed: 2)
        let metrics = try TaskMetrics.evaluate(task, trainer: trainer, examples: examples, batchSize: 4)
        // Answer tokens: every sentence character plus its end marker.
        #expect(metrics.answerTokenCount == examples.reduce(0) { $0 + $1.answer.count + 1 })
        #expect(metrics.exampleCount == 10)
        let single = try examples.map { try TaskMetrics.evaluate(task, trainer: trainer, examples: [$0], batchSize: 1) }
        let correct = single.reduce(0.0) { $0 + $1.tokenAccuracy * Double($1.answerTokenCount) }
        #expect(abs(metrics.tokenAccuracy - correct / Double(metrics.answerTokenCount)) < 1e-12)
        let lossSum = single.reduce(0.0) { $0 + $1.meanLoss * Double($1.answerTokenCount) }
        #expect(abs(metrics.meanLoss - lossSum / Double(metrics.answerTokenCount)) < 1e-4)
        #expect(metrics.perplexity != nil)
    }
}
