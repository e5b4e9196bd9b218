import Foundation
import PEFTEngine

/// One cell: a method configuration fine-tuned over every task of the study for one seed.
///
/// Protocols (see `FineTuningProtocol`):
/// - sequential: one method, attached once, keeps training task after task;
/// - per-task: before each task the base weights are restored and a fresh method attached;
///   after each task its module (base arena + method tensors) is kept, and task j is always
///   evaluated with module j; skills and not-yet-trained tasks with the current module;
/// - merge: after each task the method is merged into the weights, detached, and a fresh one
///   attached; ΔW is then cumulative, W_now − W_base.
///
/// Row 0 of the accuracy matrix is the base's own evaluation; row t the evaluation after task t.
extension StudyRunner {
    /// The module of one per-task phase: the whole parameter arena and the method's arena.
    struct ModuleState {
        var base: [Float]
        var own: [Float]

        init(model: TransformerModel, method: any PEFTMethod) {
            base = model.parameters.values.copy(0..<model.parameters.count)
            own = method.parameters.values.copy(0..<method.parameters.count)
        }

        func restore(model: TransformerModel, method: any PEFTMethod) {
            base.withUnsafeBufferPointer { model.parameters.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
            if !own.isEmpty {
                own.withUnsafeBufferPointer { method.parameters.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
            }
        }
    }

    func runCell(_ cell: StudyPlan.Cell, base: BaseState, progress state: inout ProgressState) throws {
        let run = cell.run, seed = cell.seed
        let cellStart = ContinuousClock.now
        let model = makeModel(weights: base.weights)
        let sites = LinearSite.all(config)
        // Only `merge` computes ΔW against the base's matrices (0.4 GB for SmolLM2: kept only then).
        var baseSiteWeights: [LinearSite: Tensor] = [:]
        if run.fineTuningProtocol == .merge {
            for site in sites { baseSiteWeights[site] = model.parameters.tensor(named: site.weightName) }
        }
        let examples = testExamples(seed: seed)
        let columns = resolved.columns
        // The base, unchanged, for KL(base ‖ tuned) on the language-modelling columns.
        let reference = columns.contains { $0.task.isLanguageModelling } ? makeModel(weights: base.weights) : nil
        let skillCount = resolved.skills.count
        let taskColumns = resolved.tasks

        func attachFresh(_ phase: String) throws -> any PEFTMethod {
            let method = run.configuration.makeMethod()
            var rng = SeededRNG(seed: UInt64(seed)).fork("method \(run.label) \(phase)")
            try method.attach(to: model, rng: &rng)
            return method
        }
        var method = try attachFresh("task 1")
        let memory = method.memoryReport(model: model)
        let trainableCount = method.trainableParameterCount(model: model)

        let settingsPerTask = taskColumns.map { run.training(for: $0.spec, defaults: study.training) }
        state.value.taskCount = taskColumns.count
        state.value.totalSteps = settingsPerTask.reduce(0) { $0 + $1.steps }
        try state.emit(.cellStarted)

        var rows = [base.row]
        var modules: [ModuleState] = []
        var divergedAt: Int?
        var stepsBefore = 0, tokens = 0, trainSeconds = 0.0
        let t = try HDF5Transaction.create(at: cell.file)
        let group = t.root
        try PartFile.writeHeader(group, kind: "cell", identity: cell.identity, studyName: study.name)
        try runtime.write(to: group)

        // QLoRA trains on a 4-bit copy of the base: row 0 (the base itself) does not show what
        // the quantization alone cost. Its model before any step — W0_q with B = 0, so ΔW = 0 —
        // is evaluated once and stored beside the matrices (KL against the full-precision base).
        if run.methodName == "qlora" {
            let quantized = try evaluateColumns(trainer: Trainer(model: model, method: method), examples: examples, reference: reference)
            try writeEvaluation(quantized, to: try group.createGroup("quantized_base"))
            let metrics = columns.map(\.metric)
            try group.write(quantized.enumerated().map { metrics[$0.offset].value($0.element) }, to: "quantized_base_metric")
        }

        for (index, column) in taskColumns.enumerated() {
            let taskStart = ContinuousClock.now
            if run.fineTuningProtocol == .perTask && index > 0 {
                method.detach(from: model)
                base.weights.withUnsafeBufferPointer { model.parameters.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
                method = try attachFresh("task \(index + 1)")
            }
            let settings = settingsPerTask[index]
            let virtual = model.softPrompt?.length ?? 0
            let contextLimit = config.contextLength - virtual
            for (c, col) in columns.enumerated() where virtual > 0 {
                let needed = try Batcher(task: col.task, examples: examples[c].flatMap(ResolvedStudy.scoredRows), batchSize: 1,
                                         contextLength: config.contextLength, tokenizer: resolved.tokenizer).sequenceLength
                if needed > contextLimit {
                    throw RunnerError.contextTooShort(run: run.label, task: col.name, needed: needed, available: contextLimit)
                }
            }
            let trainer = Trainer(model: model, method: method, settings: TrainingPhase.engineSettings(settings))
            state.value.taskIndex = index + 1
            var outcome = TrainingPhase.Outcome()
            if divergedAt == nil {
                outcome = try TrainingPhase.run(
                    trainer: trainer, task: column.task, settings: settings, contextLimit: contextLimit,
                    dataSeed: UInt64(seed), shuffleSeed: seedFor(seed, "batches \(run.label) task \(index + 1)"),
                    tokenizer: resolved.tokenizer) { step, loss, rate in
                        state.value.step = stepsBefore + step + 1
                        state.value.loss = loss
                        state.value.tokensPerSecond = rate
                        try state.emit(.step)
                    }
                if let at = outcome.divergedAt {
                    divergedAt = stepsBefore + at
                    state.value.step = stepsBefore + at + 1
                    state.value.loss = outcome.losses.last ?? .nan
                    try state.emit(.diverged)
                }
            }
            stepsBefore += settings.steps
            tokens += outcome.tokens
            trainSeconds += outcome.seconds

            // Evaluate every column; under per-task, task j ≤ t with its own module.
            // Only per-task needs the module saved (a copy of every weight).
            let current = run.fineTuningProtocol == .perTask ? ModuleState(model: model, method: method) : nil
            if let current { modules.append(current) }
            let row = try evaluateColumns(trainer: trainer, examples: examples, reference: reference, prepare: { c in
                let j = c - skillCount
                if run.fineTuningProtocol == .perTask, j >= 0, j < index { modules[j].restore(model: model, method: method) }
            }, finish: { c in
                let j = c - skillCount
                if let current, j >= 0, j < index { current.restore(model: model, method: method) }
            })
            rows.append(row)

            let after = try group.createGroup("after_task\(index + 1)")
            try after.setAttribute("task", column.name)
            try after.setAttribute("steps", outcome.losses.count)
            try after.setAttribute("learning_rate", settings.learningRate)
            try after.setAttribute("batch", settings.batch)
            try after.setAttribute("tokens_per_second", outcome.tokensPerSecond)
            if let at = outcome.divergedAt { try after.setAttribute("diverged_at_step", at) }
            try after.write(outcome.losses, to: "loss")
            try writeEvaluation(row, to: after)
            let store = study.store
            let isFinal = index + 1 == taskColumns.count
            let keepWeights = store.weights == .every || (store.weights == .final && isFinal)
            if keepWeights {
                for (i, view) in model.parameters.views.enumerated() where model.parameters.requiresGrad[i] {
                    try after.write(model.parameters.tensor(named: view.name), to: "trainable/base/\(view.name)")
                }
            }
            // Under `factors` the method's tensors are the stored form of ΔW: every stage.
            let factorsHere = store.delta == .factors && run.fineTuningProtocol != .merge && run.methodName != "full"
            if keepWeights || factorsHere {
                for name in method.parameters.names {
                    try after.write(method.parameters.tensor(named: name), to: "trainable/method/\(name)")
                }
            }
            var deltas: [(name: String, tensor: Tensor)] = []
            if run.fineTuningProtocol == .merge {
                try method.merge(into: model)
                method.detach(from: model)
                for site in sites {
                    deltas.append((site.weightName, model.parameters.tensor(named: site.weightName) - baseSiteWeights[site]!))
                }
                if index + 1 < taskColumns.count { method = try attachFresh("task \(index + 2)") }
            } else {
                for site in sites {
                    if let delta = method.delta(for: site, model: model) { deltas.append((site.weightName, delta)) }
                }
            }
            try DeltaStore.write(deltas, to: after, policy: store, asFactors: factorsHere)
            try after.setAttribute("wall_time", RunnerClock.seconds(since: taskStart))
        }

        let rowNames = ["base"] + taskColumns.map(\.name)
        let columnNames = columns.map(\.name)
        // One matrix per measure, rows = base + after each task, columns = skills then tasks.
        // `metric` holds each column's own primary measure (`ColumnMetric`), named and directed
        // per column; KL is NaN where it is not measured (columns that are not running text).
        let metrics = columns.map(\.metric)
        var matrices: [(String, (TaskMetrics, Int) -> Double)] = [
            ("accuracy", { m, _ in m.exactMatch }), ("token_accuracy", { m, _ in m.tokenAccuracy }),
            ("metric", { m, c in metrics[c].value(m) }), ("mean_nll", { m, _ in m.meanLoss }),
        ]
        if columns.contains(where: { $0.task.isLanguageModelling }) {
            matrices.append(("kl_from_base", { m, _ in m.klFromBase ?? .nan }))
        }
        for (name, value) in matrices {
            try group.write(rows.flatMap { $0.enumerated().map { value($0.element, $0.offset) } }, shape: [rows.count, columns.count], to: name)
            let dataset = try group.dataset(name)
            try dataset.setAttribute("row_names", .strings(rowNames))
            try dataset.setAttribute("column_names", .strings(columnNames))
            try dataset.setAttribute("column_kinds", .strings(columns.map(\.kind.rawValue)))
            if name == "metric" {
                try dataset.setAttribute("column_metrics", .strings(metrics.map(\.rawValue)))
                try dataset.setAttribute("column_directions", .strings(metrics.map(\.direction)))
            }
        }
        try group.setAttribute("method", run.methodName)
        try group.setAttribute("label", run.label)
        try group.setAttribute("protocol", run.fineTuningProtocol.rawValue)
        try group.setAttribute("seed", seed)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try group.setAttribute("configuration", String(decoding: try encoder.encode(run.configuration), as: UTF8.self))
        try group.setAttribute("method_description", method.label)
        try group.setAttribute("trainable_parameters", trainableCount)
        try group.setAttribute("memory_trainable_bytes", memory.trainableBytes)
        try group.setAttribute("memory_gradient_bytes", memory.gradientBytes)
        try group.setAttribute("memory_optimizer_state_bytes", memory.optimizerStateBytes)
        try group.setAttribute("memory_frozen_bytes", memory.frozenBytes)
        try group.setAttribute("memory_total_bytes", memory.totalBytes)
        try group.setAttribute("training_tokens", tokens)
        try group.setAttribute("tokens_per_second", trainSeconds > 0 ? Double(tokens) / trainSeconds : 0)
        if let divergedAt { try group.setAttribute("diverged_at_step", divergedAt) }
        try group.setAttribute("wall_time", RunnerClock.seconds(since: cellStart))
        try t.commit()
    }
}
