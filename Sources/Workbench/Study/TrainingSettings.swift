/// How one training phase runs: the study's `training:` block, or `base.pretrain:`.
///
/// Keys: `steps`, `lr`, `batch` (required, positive), `warmup` (default 0, at most `steps`),
/// `schedule` (`cosine` or `constant`, default cosine), `weight_decay` (default 0),
/// `max_grad_norm` (default 1.0; 0 turns clipping off).
public struct TrainingSettings: Equatable, Sendable {
    /// Learning-rate schedule after linear warmup (see `LRSchedule` in PEFTEngine).
    public enum Schedule: String, Equatable, Sendable, CaseIterable {
        case constant, cosine
    }

    public var steps: Int
    public var learningRate: Double
    public var batch: Int
    public var warmup: Int
    public var schedule: Schedule
    public var weightDecay: Double
    /// Global gradient-norm clip; nil means no clipping.
    public var maxGradNorm: Double?

    public init(steps: Int, learningRate: Double, batch: Int, warmup: Int = 0, schedule: Schedule = .cosine,
                weightDecay: Double = 0, maxGradNorm: Double? = 1.0) {
        self.steps = steps
        self.learningRate = learningRate
        self.batch = batch
        self.warmup = warmup
        self.schedule = schedule
        self.weightDecay = weightDecay
        self.maxGradNorm = maxGradNorm
    }

    /// These settings with `overrides` applied (a nil field keeps the current value).
    public func applying(_ overrides: TrainingOverrides) -> TrainingSettings {
        var s = self
        if let v = overrides.steps { s.steps = v }
        if let v = overrides.learningRate { s.learningRate = v }
        if let v = overrides.batch { s.batch = v }
        return s
    }

    /// Tokens in one optimizer step: batch × context length (every position is a token).
    public func tokensPerStep(contextLength: Int) -> Int { batch * contextLength }

    /// Tokens seen over the whole phase: steps × batch × context length.
    public func totalTokens(contextLength: Int) -> Int { steps * tokensPerStep(contextLength: contextLength) }

    static let keys = ["steps", "lr", "batch", "warmup", "schedule", "weight_decay", "max_grad_norm"]
}

/// Per-task or per-method replacements for `steps`, `lr` and `batch`.
public struct TrainingOverrides: Equatable, Hashable, Sendable {
    public var steps: Int?
    public var learningRate: Double?
    public var batch: Int?

    public init(steps: Int? = nil, learningRate: Double? = nil, batch: Int? = nil) {
        self.steps = steps
        self.learningRate = learningRate
        self.batch = batch
    }

    public var isEmpty: Bool { steps == nil && learningRate == nil && batch == nil }

    static let keys = ["steps", "lr", "batch"]
}

/// How much of each task the evaluation sees: `evaluation: {test_size: 200, batch: 64}`.
public struct EvaluationSettings: Equatable, Sendable {
    /// Held-out examples per task, generated with a seed disjoint from training.
    public var testSize: Int
    /// Examples per forward pass during evaluation.
    public var batch: Int
    /// Also decode every answer task's test examples greedily and score exact match of the
    /// free-running answer (`GreedyDecoding`; one forward per answer token): the column's metric
    /// becomes `greedy_exact_match`. Off by default (teacher-forced exact match, an upper bound).
    public var greedy: Bool

    public init(testSize: Int = 200, batch: Int = 64, greedy: Bool = false) {
        self.testSize = testSize
        self.batch = batch
        self.greedy = greedy
    }

    static let keys = ["test_size", "batch", "greedy"]
}
