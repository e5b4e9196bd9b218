/// One training step and evaluation for a `TransformerModel`: zero grads → forward →
/// backward → clip → AdamW at the scheduled rate. Knows nothing of data sources or files.
public final class Trainer {
    public struct Settings: Equatable, Sendable {
        /// Peak learning rate.
        public var learningRate: Float
        public var schedule: LRSchedule
        /// Global gradient-norm bound; nil disables clipping.
        public var maxGradNorm: Float?
        public var adam: AdamW.Hyperparameters

        public init(learningRate: Float = 1e-3, schedule: LRSchedule = .constant(warmup: 0),
                    maxGradNorm: Float? = 1.0, adam: AdamW.Hyperparameters = .init()) {
            self.learningRate = learningRate; self.schedule = schedule
            self.maxGradNorm = maxGradNorm; self.adam = adam
        }
    }

    /// Result of `evaluate`.
    public struct Evaluation: Equatable, Sendable {
        /// Masked mean cross-entropy.
        public var loss: Float
        /// Argmax token at every position, [B·T].
        public var predictions: [Int32]
        /// Masked-in positions whose argmax equals the target.
        public var correct: Int
        /// Masked-in positions (mask ≠ 0).
        public var counted: Int
        public var accuracy: Double { counted == 0 ? 0 : Double(correct) / Double(counted) }
    }

    public let model: TransformerModel
    public let optimizer: AdamW
    public var settings: Settings
    /// Gradient norm before clipping at the last step.
    public private(set) var lastGradNorm: Double = 0
    /// Learning rate used at the last step.
    public private(set) var lastLearningRate: Float = 0

    public init(model: TransformerModel, settings: Settings = Settings()) {
        self.model = model
        self.settings = settings
        optimizer = AdamW(parameterCount: model.parameters.count, hyperparameters: settings.adam)
    }

    /// Steps taken so far.
    public var stepCount: Int { optimizer.step }

    /// One optimisation step on a batch of `B` sequences of `T` tokens; returns the loss
    /// (before the update). tokens, targets, mask are [B, T] row-major.
    @discardableResult
    public func step(tokens: [Int32], targets: [Int32], mask: [Float], B: Int, T: Int) -> Float {
        let store = model.parameters
        store.zeroGradients()
        model.prefix.map { p in p.keyGradients.zeroAll(); p.valueGradients.zeroAll() }
        let loss = model.forward(tokens: tokens, targets: targets, mask: mask, B: B, T: T)
        model.backward()
        let segments = store.trainableSegments
        if let maxNorm = settings.maxGradNorm {
            lastGradNorm = GradientClipping.clip(store.gradients, segments: segments, maxNorm: maxNorm)
        } else {
            lastGradNorm = GradientClipping.globalNorm(store.gradients, segments: segments)
        }
        lastLearningRate = settings.schedule.rate(step: optimizer.step, base: settings.learningRate)
        optimizer.hyperparameters = settings.adam
        optimizer.update(values: store.values, gradients: store.gradients, segments: segments, lr: lastLearningRate)
        return loss
    }

    /// Forward only: loss, argmax predictions and masked accuracy.
    public func evaluate(tokens: [Int32], targets: [Int32], mask: [Float], B: Int, T: Int) -> Evaluation {
        let loss = model.forward(tokens: tokens, targets: targets, mask: mask, B: B, T: T)
        let predictions = model.argmaxPredictions()
        var correct = 0, counted = 0
        for n in 0..<(B * T) where mask[n] != 0 {
            counted += 1
            if predictions[n] == targets[n] { correct += 1 }
        }
        return Evaluation(loss: loss, predictions: predictions, correct: correct, counted: counted)
    }
}
