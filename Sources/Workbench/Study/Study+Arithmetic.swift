/// The arithmetic a study file's comments do by hand, computed from the parsed study.
///
/// Token counts follow nanoGPT's convention: one optimizer step sees batch × context length
/// tokens (every position of every sequence), so a phase of S steps sees S · B · T tokens.
/// Evaluation is a forward pass only, counted as one third of a training token's cost
/// (forward ≈ 1/3 of forward + backward for a transformer).
public struct StudyArithmetic: Equatable, Sendable, CustomStringConvertible {
    /// B · T with the `training` defaults.
    public var tokensPerStep: Int
    /// Method configurations after sweep expansion.
    public var configurations: Int
    /// Configurations × seeds × tasks: the fine-tuning phases the runner executes.
    public var runs: Int
    /// Pretraining tokens per seed (0 when the base comes from a checkpoint).
    public var pretrainingTokensPerSeed: Int
    /// Fine-tuning tokens of one seed's run of each configuration, over all its tasks, by label.
    public var trainingTokensPerRun: [String: Int]
    /// Tokens evaluated: after every task, every task and base skill at `test_size` examples.
    public var evaluationTokens: Int
    /// All training tokens of the study (pretraining and fine-tuning, every seed).
    public var totalTrainingTokens: Int

    /// Training-token equivalents: training tokens plus one third of evaluation tokens.
    public var costTokens: Int { totalTrainingTokens + evaluationTokens / 3 }

    /// Wall-clock estimate at `tokensPerSecond` training throughput.
    public func estimatedSeconds(tokensPerSecond: Double) -> Double {
        precondition(tokensPerSecond > 0, "throughput must be positive")
        return Double(costTokens) / tokensPerSecond
    }

    public var description: String {
        let perRun = trainingTokensPerRun.values
        let range = perRun.min() == perRun.max() ? "\(perRun.first ?? 0)" : "\(perRun.min() ?? 0)–\(perRun.max() ?? 0)"
        return """
            tokens per step: \(tokensPerStep)
            configurations: \(configurations); runs (configurations × seeds × tasks): \(runs)
            pretraining tokens per seed: \(pretrainingTokensPerSeed)
            fine-tuning tokens per configuration and seed: \(range)
            evaluation tokens: \(evaluationTokens)
            total training tokens: \(totalTrainingTokens)
            """
    }
}

extension Study {
    /// Tokens one configuration sees fine-tuning over every task for one seed: Σ_task S · B · T
    /// with the task's and the method's overrides applied.
    public func trainingTokens(for run: MethodRun) -> Int {
        tasks.reduce(0) { sum, task in
            sum + run.training(for: task, defaults: training).totalTokens(contextLength: model.contextLength)
        }
    }

    public var arithmetic: StudyArithmetic {
        let T = model.contextLength
        let pretraining: Int
        switch base.source {
        case .pretrain(let settings): pretraining = settings.totalTokens(contextLength: T)
        case .checkpoint, .pretrained: pretraining = 0
        }
        var perRun: [String: Int] = [:]
        for run in runs { perRun[run.label] = trainingTokens(for: run) }
        let fineTuning = perRun.values.reduce(0, +)
        let evaluatedTasks = tasks.count + base.skills.count
        // After every task of every run: each task and skill, test_size sequences of T tokens.
        let evaluation = seeds.count * runs.count * tasks.count * evaluatedTasks * evaluation.testSize * T
        return StudyArithmetic(
            tokensPerStep: training.tokensPerStep(contextLength: T),
            configurations: runs.count,
            runs: runs.count * seeds.count * tasks.count,
            pretrainingTokensPerSeed: pretraining,
            trainingTokensPerRun: perRun,
            evaluationTokens: evaluation,
            totalTrainingTokens: seeds.count * (pretraining + fineTuning))
    }
}
