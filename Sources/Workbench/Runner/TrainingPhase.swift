import Foundation
import PEFTEngine

/// One training phase: `settings.steps` optimizer steps of `trainer` on one task's train split.
///
/// Data: `min(steps × batch, maxTrainExamples)` train examples drawn with `dataSeed` (the same
/// seed as the task's test split, so the two are disjoint), visited in the batcher's seeded
/// epoch order (`shuffleSeed`).
///
/// Divergence ends the phase (the weights are no longer meaningful and further steps would only
/// spend time) and is recorded: a step whose loss is NaN or ±∞, or that exceeds both
/// `divergenceFactor` × the phase's first loss and ln V, the loss of guessing uniformly over the
/// vocabulary — a model worse than a uniform guess and ten times worse than where it started
/// has blown up, whatever its learning rate.
struct TrainingPhase {
    /// Upper bound on generated train examples per phase (the batcher cycles epochs beyond it).
    static let maxTrainExamples = 16_384
    /// How many times its first loss a phase's loss may reach (above ln V) before it counts as diverged.
    static let divergenceFactor: Float = 10

    struct Outcome {
        /// Loss of every step taken, in order.
        var losses: [Float] = []
        /// 0-based step (within the phase) whose loss was not finite, if any.
        var divergedAt: Int?
        /// Training tokens processed: Σ B × T over the steps.
        var tokens = 0
        var seconds = 0.0
        var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
    }

    /// The engine's settings for a study's training block: cosine decays to 10 % of the peak
    /// (nanoGPT's convention) at the phase's last step; weight decay and clipping as given.
    static func engineSettings(_ s: TrainingSettings) -> Trainer.Settings {
        let lr = Float(s.learningRate)
        let schedule: LRSchedule
        switch s.schedule {
        case .constant: schedule = .constant(warmup: s.warmup)
        case .cosine: schedule = .cosine(warmup: s.warmup, total: s.steps, minLR: lr * 0.1)
        }
        return Trainer.Settings(learningRate: lr, schedule: schedule, maxGradNorm: s.maxGradNorm.map { Float($0) },
                                adam: AdamW.Hyperparameters(weightDecay: Float(s.weightDecay)))
    }

    /// Trains; `onStep(stepIndex, loss, tokensPerSecond)` follows every step and may throw to stop.
    static func run(trainer: Trainer, task: any Task, settings: TrainingSettings, contextLimit: Int,
                    dataSeed: UInt64, shuffleSeed: UInt64, tokenizer: any TaskTokenizer = Vocabulary(),
                    onStep: (Int, Float, Double) throws -> Void) throws -> Outcome {
        var outcome = Outcome()
        guard settings.steps > 0 else { return outcome }
        let count = min(settings.steps * settings.batch, maxTrainExamples)
        let examples = task.examples(split: .train, count: count, seed: dataSeed)
        let batcher = try Batcher(task: task, examples: examples, batchSize: settings.batch,
                                  contextLength: contextLimit, seed: shuffleSeed, tokenizer: tokenizer)
        let B = settings.batch, T = batcher.sequenceLength
        outcome.losses.reserveCapacity(settings.steps)
        let start = ContinuousClock.now
        let uniformLoss = logf(Float(trainer.model.config.vocabSize))
        var firstLoss: Float?
        for s in 0..<settings.steps {
            batcher.nextTrainingBatch()
            let loss = trainer.step(tokens: batcher.tokens, targets: batcher.targets, mask: batcher.mask, B: B, T: T)
            outcome.losses.append(loss)
            outcome.tokens += B * T
            outcome.seconds = RunnerClock.seconds(since: start)
            if firstLoss == nil { firstLoss = loss }
            if !loss.isFinite || (loss > uniformLoss && loss > divergenceFactor * firstLoss!) {
                outcome.divergedAt = s
                break
            }
            try onStep(s, loss, outcome.tokensPerSecond)
        }
        return outcome
    }
}

/// Wall-clock helpers for the runner's timings.
enum RunnerClock {
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        (ContinuousClock.now - start).inSeconds
    }
}
