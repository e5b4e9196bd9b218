import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// Multiple-choice scoring by summed log-likelihood and KL(base ‖ tuned), on a small random model:
/// each against a direct computation from single-example evaluations and the logits.
@Suite struct TaskEvaluationScoringTests {
    static let config = try! ModelConfig(vocabSize: Vocabulary.size, dModel: 32, layers: 2, heads: 4, dFF: 64, contextLength: 24)

    static func model(seed: UInt64) -> TransformerModel {
        let model = TransformerModel(config: config, maxB: 4, maxT: config.contextLength)
        model.parameters.initialize(seed: seed)
        return model
    }

    struct Items: Task {
        var items: [Example]
        var name: String { "items" }
        var kind: String { "items" }
        var testSize: Int { items.count }
        var isLanguageModelling: Bool { items.allSatisfy { $0.prompt.isEmpty } }
        func examples(split: TaskSplit, count: Int, seed: UInt64) -> [Example] { Array(items.prefix(count)) }
    }

    static let items = [
        Example(prompt: "2+2=", answer: "4", endsWithMarker: false, choices: ["4", "5", "22", "3"]),
        Example(prompt: "sky is", answer: " blue", endsWithMarker: false, choices: [" green", " blue", " red"]),
        Example(prompt: "ab", answer: "c", endsWithMarker: false, choices: ["c", "d"]),
        Example(prompt: "x", answer: "yz", endsWithMarker: false, choices: ["q", "yz", "yy", "zz", "w"]),
        Example(prompt: "hello", answer: " world", endsWithMarker: false, choices: [" world", " there"]),
    ]

    @Test("choice accuracy: the answer must have the largest Σ ln p of its choices, each summed from a separate evaluation")
    func multipleChoiceMatchesSeparateSums() throws {
        for seed in [1, 2, 3] as [UInt64] {
            let trainer = Trainer(model: Self.model(seed: seed))
            let task = Items(items: Self.items)
            let metrics = try TaskMetrics.evaluate(task, trainer: trainer, examples: Self.items, batchSize: 3)
            var right = 0, answerNLL = 0.0, answerTokens = 0
            for item in Self.items {
                let sums = try item.choices.map { choice -> Double in
                    let m = try TaskMetrics.evaluate(Items(items: []), trainer: trainer,
                                                     examples: [Example(prompt: item.prompt, answer: choice, endsWithMarker: false)], batchSize: 1)
                    return m.meanLoss * Double(m.answerTokenCount)
                }
                let best = sums.indices.min { sums[$0] < sums[$1] }!
                if item.choices[best] == item.answer { right += 1 }
                answerNLL += sums[item.choices.firstIndex(of: item.answer)!]
                answerTokens += item.answer.count
            }
            #expect(metrics.choiceAccuracy == Double(right) / Double(Self.items.count), "seed \(seed)")
            #expect(metrics.exampleCount == Self.items.count && metrics.answerTokenCount == answerTokens)
            #expect(abs(metrics.meanLoss - answerNLL / Double(answerTokens)) < 1e-5)
        }
    }

    @Test("KL(base ‖ tuned): 0 against itself; otherwise the mean over answer positions of the definition, from the two models' logits")
    func klFromBaseMatchesTheLogits() throws {
        let windows = ["the quick brown fox", "jumps over", "the lazy dog and", "runs"].map { Example(prompt: "", answer: $0, endsWithMarker: false) }
        let task = Items(items: windows)
        let base = Self.model(seed: 5), tuned = Self.model(seed: 6)
        let same = try TaskMetrics.evaluate(task, trainer: Trainer(model: base), examples: windows, batchSize: 4, reference: Self.model(seed: 5))
        #expect(same.klFromBase.map { abs($0) < 1e-7 } == true)
        let metrics = try TaskMetrics.evaluate(task, trainer: Trainer(model: tuned), examples: windows, batchSize: 4, reference: base)
        // Direct: one forward of each model on the same batch, KL per masked position in Double.
        let batcher = try Batcher(task: task, examples: windows, batchSize: 4, contextLength: 24)
        batcher.fillSequential(startingAt: 0)
        let T = batcher.sequenceLength, V = Self.config.vocabSize
        base.forward(tokens: batcher.tokens, B: 4, T: T)
        let p = base.logits().storage
        tuned.forward(tokens: batcher.tokens, B: 4, T: T)
        let q = tuned.logits().storage
        var sum = 0.0, count = 0.0
        for n in 0..<(4 * T) where batcher.mask[n] != 0 {
            sum += KernelKLReference.kl(Array(p[(n * V)..<((n + 1) * V)]), Array(q[(n * V)..<((n + 1) * V)]))
            count += 1
        }
        let kl = try #require(metrics.klFromBase)
        #expect(kl > 0.01)
        #expect(abs(kl - sum / count) < 2e-5 * kl)
    }

    @Test("tasks that are not running text get no KL")
    func noKLForAnswers() throws {
        let task = Items(items: [Example(prompt: "ab", answer: "cd")])
        let m = try TaskMetrics.evaluate(task, trainer: Trainer(model: Self.model(seed: 1)), examples: task.items, batchSize: 1,
                                         reference: Self.model(seed: 2))
        #expect(m.klFromBase == nil && m.choiceAccuracy == nil)
    }
}

/// Σ p ln(p/q) of two logits rows, in Double.
enum KernelKLReference {
    static func kl(_ zp: [Float], _ zq: [Float]) -> Double {
        func logSoftmax(_ z: [Float]) -> [Double] {
            let m = Double(z.max()!)
            let lse = m + Foundation.log(z.reduce(0) { $0 + Foundation.exp(Double($1) - m) })
            return z.map { Double($0) - lse }
        }
        let a = logSoftmax(zp), b = logSoftmax(zq)
        return zip(a, b).reduce(0) { $0 + Foundation.exp($1.0) * ($1.0 - $1.1) }
    }
}
