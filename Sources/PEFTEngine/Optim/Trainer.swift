/// One training step and evaluation for a `TransformerModel`, optionally wrapped by a PEFT
/// method: zero grads → method.prepareForward → forward → backward → method.finishBackward →
/// clip (one global norm over the base's trainable views and the method's tensors) → AdamW at
/// the scheduled rate on both. Knows nothing of data sources or files.
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
    /// The attached method, if any (attach it before creating the trainer).
    public let method: (any PEFTMethod)?
    /// AdamW over the base parameter arena (only trainable views are touched).
    public let optimizer: AdamW
    /// AdamW over the method's own tensors (empty when there are none).
    public let methodOptimizer: AdamW
    public var settings: Settings
    /// Gradient norm before clipping at the last step.
    public private(set) var lastGradNorm: Double = 0
    /// Learning rate used at the last step.
    public private(set) var lastLearningRate: Float = 0

    /// Wall time of one `step`'s phases. forward: the method's `prepareForward` and the model's
    /// forward with the loss; backward: the model's backward and the method's `finishBackward`;
    /// update: zeroing the gradients, the global norm and clipping, and AdamW.
    public struct StepTimes: Equatable, Sendable {
        public var forward: Duration, backward: Duration, update: Duration
    }

    /// The phases of the last `step` (five clock reads per step; for benchmarks).
    public private(set) var lastStepTimes = StepTimes(forward: .zero, backward: .zero, update: .zero)

    public init(model: TransformerModel, method: (any PEFTMethod)? = nil, settings: Settings = Settings()) {
        self.model = model
        self.method = method
        self.settings = settings
        optimizer = AdamW(parameterCount: model.parameters.count, hyperparameters: settings.adam)
        methodOptimizer = AdamW(parameterCount: method?.parameters.count ?? 0, hyperparameters: settings.adam)
    }

    /// Steps taken so far.
    public var stepCount: Int { optimizer.step }

    /// One optimisation step on a batch of `B` sequences of `T` tokens; returns the loss
    /// (before the update). tokens, targets, mask are [B, T] row-major.
    @discardableResult
    public func step(tokens: [Int32], targets: [Int32], mask: [Float], B: Int, T: Int) -> Float {
        let clock = ContinuousClock(), start = clock.now
        let store = model.parameters
        store.zeroGradients()
        model.prefix.map { p in p.keyGradients.zeroAll(); p.valueGradients.zeroAll() }
        method?.parameters.zeroGradients()
        method?.isTraining = true
        let forwardStart = clock.now
        method?.prepareForward(model: model)
        let loss = model.forward(tokens: tokens, targets: targets, mask: mask, B: B, T: T)
        let backwardStart = clock.now
        model.backward()
        method?.finishBackward(model: model)
        let updateStart = clock.now
        let segments = store.trainableSegments
        let own = method?.parameters
        let ownSegments = own?.segments ?? []
        let baseNorm = GradientClipping.globalNorm(store.gradients, segments: segments)
        let ownNorm = own.map { GradientClipping.globalNorm($0.gradients, segments: ownSegments) } ?? 0
        lastGradNorm = (baseNorm * baseNorm + ownNorm * ownNorm).squareRoot()
        if let maxNorm = settings.maxGradNorm, lastGradNorm > Double(maxNorm) {
            let factor = Float(Double(maxNorm) / (lastGradNorm + GradientClipping.epsilon))
            GradientClipping.scale(store.gradients, segments: segments, by: factor)
            if let own { GradientClipping.scale(own.gradients, segments: ownSegments, by: factor) }
        }
        lastLearningRate = settings.schedule.rate(step: optimizer.step, base: settings.learningRate)
        optimizer.hyperparameters = settings.adam
        optimizer.update(values: store.values, gradients: store.gradients, segments: segments, lr: lastLearningRate)
        if let own, own.count > 0 {
            methodOptimizer.hyperparameters = settings.adam
            methodOptimizer.update(values: own.values, gradients: own.gradients, segments: ownSegments, lr: lastLearningRate)
        }
        let end = clock.now
        lastStepTimes = StepTimes(forward: backwardStart - forwardStart, backward: updateStart - backwardStart,
                                  update: (forwardStart - start) + (end - updateStart))
        return loss
    }

    /// Forward only: loss, argmax predictions and masked accuracy.
    public func evaluate(tokens: [Int32], targets: [Int32], mask: [Float], B: Int, T: Int) -> Evaluation {
        method?.isTraining = false
        method?.prepareForward(model: model)
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
