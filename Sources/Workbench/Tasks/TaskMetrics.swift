import Foundation

/// How well a model does on a task's examples, under teacher forcing.
///
/// With n examples, answer positions a (mask = 1: answer tokens and the end marker), predicted
/// token p̂ = argmax of the logits at each position given the TRUE preceding tokens:
/// - `exactMatch` = (1/n) Σ_examples 1[p̂ = target at every answer position of the example] —
///   teacher-forced argmax match, the standard cheap proxy for "the greedy answer is right"
///   (it equals greedy-decoding exact match whenever the first wrong token would derail
///   decoding anyway; it can only be higher when a later token is right given a wrong prefix).
/// - `tokenAccuracy` = (1/|a|) Σ_a 1[p̂ = target]
/// - `meanLoss` = (1/|a|) Σ_a −ln softmax(logits)[target] (nats per answer token)
/// - `perplexity` = e^meanLoss, reported for language-modelling tasks only.
/// - `choiceAccuracy` (multiple-choice items only, `Example.choices`): the fraction of items whose
///   answer has the highest summed log-probability Σ_t ln p(choice_t | prompt, choice_<t) among
///   the item's choices, as evaluation harnesses score them (lm-evaluation-harness's `acc`; ties
///   go to the first listed choice). `meanLoss` etc. then describe the correct answers only.
/// - `klFromBase` (language-modelling tasks, when a reference model is given): the mean over
///   answer positions of KL(p_base ‖ p_tuned) of the next-token distributions, in nats
///   (`KLDivergence`); 0 for the base model itself.
///
/// `GreedyDecoding.exactMatch` gives the free-running exact match when it is worth its cost
/// (one forward per generated token); it is never above the teacher-forced `exactMatch`.
public struct TaskMetrics: Equatable, Sendable, Codable {
    public var exampleCount: Int
    public var answerTokenCount: Int
    public var exactMatch: Double
    public var tokenAccuracy: Double
    public var meanLoss: Double
    public var perplexity: Double?
    public var choiceAccuracy: Double?
    public var klFromBase: Double?
    /// Exact match of the free-running greedy answer (`GreedyDecoding.exactMatch`), when asked for.
    public var greedyExactMatch: Double?

    public init(exampleCount: Int, answerTokenCount: Int, exactMatch: Double, tokenAccuracy: Double,
                meanLoss: Double, perplexity: Double?, choiceAccuracy: Double? = nil, klFromBase: Double? = nil,
                greedyExactMatch: Double? = nil) {
        self.exampleCount = exampleCount
        self.answerTokenCount = answerTokenCount
        self.exactMatch = exactMatch
        self.tokenAccuracy = tokenAccuracy
        self.meanLoss = meanLoss
        self.perplexity = perplexity
        self.choiceAccuracy = choiceAccuracy
        self.klFromBase = klFromBase
        self.greedyExactMatch = greedyExactMatch
    }
}

/// Sums over evaluation batches that become `TaskMetrics`.
public struct TaskMetricsAccumulator: Sendable {
    public private(set) var examples = 0, exactlyRight = 0
    public private(set) var answerTokens = 0, correctTokens = 0
    /// Σ over batches of (batch mean loss × answer tokens in the batch).
    public private(set) var lossSum = 0.0

    public init() {}

    /// Adds one batch: the first `rows` rows of [B, T] `predictions`, `targets`, `mask` are real
    /// examples (the rest padding), and `loss` is the batch's masked mean cross-entropy.
    public mutating func add(predictions: [Int32], targets: [Int32], mask: [Float], rows: Int, T: Int, loss: Float) {
        precondition(predictions.count == targets.count && targets.count == mask.count,
                     "TaskMetricsAccumulator: predictions \(predictions.count), targets \(targets.count), mask \(mask.count) differ")
        precondition(rows * T <= mask.count, "TaskMetricsAccumulator: \(rows) rows × T \(T) exceed \(mask.count) positions")
        var batchTokens = 0
        for r in 0..<rows {
            var all = true
            for n in (r * T)..<((r + 1) * T) where mask[n] != 0 {
                batchTokens += 1
                if predictions[n] == targets[n] { correctTokens += 1 } else { all = false }
            }
            if all { exactlyRight += 1 }
        }
        examples += rows
        answerTokens += batchTokens
        lossSum += Double(loss) * Double(batchTokens)
    }

    public func metrics(languageModelling: Bool) -> TaskMetrics {
        let meanLoss = answerTokens == 0 ? 0 : lossSum / Double(answerTokens)
        return TaskMetrics(
            exampleCount: examples, answerTokenCount: answerTokens,
            exactMatch: examples == 0 ? 0 : Double(exactlyRight) / Double(examples),
            tokenAccuracy: answerTokens == 0 ? 0 : Double(correctTokens) / Double(answerTokens),
            meanLoss: meanLoss,
            perplexity: languageModelling ? Foundation.exp(meanLoss) : nil)
    }

}
