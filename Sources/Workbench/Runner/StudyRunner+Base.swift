import Foundation
import PEFTEngine

/// The base model of one seed: its weights (the parameter arena) and its evaluation row.
struct BaseState {
    var seed: Int
    /// Every parameter, in the `ParameterStore` arena's order.
    var weights: [Float]
    /// Metrics of every column (skills, then tasks zero-shot): row 0 of every accuracy matrix.
    var row: [TaskMetrics]
}

extension StudyRunner {
    /// The base of one seed: read from its file when that is complete, else pretrained on the
    /// skill mixture (or loaded from `base.checkpoint`), evaluated, and committed to its own
    /// file (weights/NAME, loss, eval/…, attributes; `/seed{s}/base` in the index).
    ///
    /// A pretrained model's weights are NOT copied into the file (0.5 GB of float32 for
    /// SmolLM2-135M, identical for every seed): the file records the source and its digest, and
    /// the weights are read from the checkpoint again when the base is needed.
    func baseState(_ base: StudyPlan.Base, cellCount: Int) throws -> BaseState {
        let seed = base.seed
        var state = ProgressState(handler: progress, phase: "base seed\(seed)", cellIndex: 0, cellCount: cellCount)
        if base.state.isComplete && !force {
            let file = try HDF5File.open(base.file)
            defer { try? file.close() }
            let group = try file.root()
            let weights: [Float]
            if resolved.checkpoint != nil {
                weights = try pretrainedWeights()
            } else {
                let model = makeModel()
                try loadWeights(into: model, from: group.group("weights"), source: base.file.path)
                weights = model.parameters.values.copy(0..<model.parameters.count)
            }
            let base = BaseState(seed: seed, weights: weights, row: try readEvaluation(from: group))
            try state.emit(.baseLoaded)
            return base
        }

        let lock = try PartLock(locksFolder: layout.locksFolder, partFile: base.file, what: base.name)
        defer { lock.release() }
        state.lock = lock
        let model = makeModel()
        var outcome = TrainingPhase.Outcome()
        let source: String
        switch study.base.source {
        case .checkpoint(let checkpoint):
            let file = try HDF5File.open(URL(fileURLWithPath: checkpoint))
            defer { try? file.close() }
            let root = try file.root()
            try loadWeights(into: model, from: try root.contains("weights") ? root.group("weights") : root, source: checkpoint)
            source = "checkpoint:" + checkpoint
            try state.emit(.baseLoaded)
        case .pretrained(let pretrained):
            try pretrainedWeights().withUnsafeBufferPointer { model.parameters.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
            source = pretrained.label
            try state.emit(.baseLoaded)
        case .pretrain(let settings):
            model.parameters.initialize(seed: UInt64(seed))
            let trainer = Trainer(model: model, settings: TrainingPhase.engineSettings(settings))
            state.value.totalSteps = settings.steps
            try state.emit(.baseStarted)
            outcome = try TrainingPhase.run(
                trainer: trainer, task: resolved.skillMixture, settings: settings, contextLimit: config.contextLength,
                dataSeed: UInt64(seed), shuffleSeed: seedFor(seed, "base batches"), tokenizer: resolved.tokenizer) { step, loss, rate in
                    state.value.step = step + 1
                    state.value.loss = loss
                    state.value.tokensPerSecond = rate
                    try state.emit(.step)
                }
            if let at = outcome.divergedAt {
                state.value.step = at + 1
                state.value.loss = outcome.losses.last ?? .nan
                try state.emit(.diverged)
            }
            source = "pretrain"
        }
        let trainer = Trainer(model: model)
        let row = try evaluateColumns(trainer: trainer, examples: testExamples(seed: seed))

        let t = try HDF5Transaction.create(at: base.file)
        let group = t.root
        try PartFile.writeHeader(group, kind: "base", identity: base.identity, studyName: study.name)
        try runtime.write(to: group)
        try group.setAttribute("source", source)
        try group.setAttribute("seed", seed)
        try group.setAttribute("steps", outcome.losses.count)
        try group.setAttribute("wall_time", outcome.seconds)
        try group.setAttribute("tokens_per_second", outcome.tokensPerSecond)
        if let at = outcome.divergedAt { try group.setAttribute("diverged_at_step", at) }
        try group.write(outcome.losses, to: "loss")
        if case .pretrained(let pretrained) = study.base.source {
            if case .known(let known) = pretrained { try group.setAttribute("source_sha256", known.file.sha256) }
        } else {
            let weights = try group.createGroup("weights")
            for name in model.parameters.names { try weights.write(model.parameters.tensor(named: name), to: name) }
        }
        try writeEvaluation(row, to: group)
        try t.commit()
        try state.emit(.baseFinished)
        // Every seed of a pretrained base shares one array (copy-on-write: never copied).
        let weights = resolved.checkpoint != nil ? try pretrainedWeights() : model.parameters.values.copy(0..<model.parameters.count)
        return BaseState(seed: seed, weights: weights, row: row)
    }

    /// The pretrained base's weights in arena order, read from the checkpoint once per runner and
    /// shared by every seed (they are the same for all).
    func pretrainedWeights() throws -> [Float] {
        if let cached = pretrainedCache.weights { return cached }
        let model = TransformerModel(config: config, maxB: 1, maxT: 1)
        try loadPretrained(resolved.checkpoint!, into: model)
        let weights = model.parameters.values.copy(0..<model.parameters.count)
        pretrainedCache.weights = weights
        return weights
    }

    /// Every weight of the pretrained checkpoint into `model` (dequantized, HF row order).
    func loadPretrained(_ checkpoint: LlamaCheckpoint, into model: TransformerModel) throws {
        do {
            try checkpoint.load(into: model)
        } catch {
            throw RunnerError.checkpoint(path: checkpoint.path, detail: "\(error)")
        }
    }

    /// Loads every parameter of `model` from datasets named by parameter name in `group`.
    func loadWeights(into model: TransformerModel, from group: HDF5Group, source: String) throws {
        for name in model.parameters.names {
            guard try group.contains(name) else {
                throw RunnerError.checkpoint(path: source, detail: "no dataset \(group.path)/\(name) for parameter \(name)")
            }
            do {
                try model.parameters.load(named: name, from: group.readTensor(name))
            } catch let error as ParameterStoreError {
                throw RunnerError.checkpoint(path: source, detail: error.description)
            }
        }
    }

    /// A seed derived from the study seed and a label (SplitMix-style, via `SeededRNG.fork`).
    func seedFor(_ seed: Int, _ label: String) -> UInt64 {
        var rng = SeededRNG(seed: UInt64(seed)).fork(label)
        return rng.next()
    }
}
