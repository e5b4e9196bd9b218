import Foundation
import PEFTEngine

/// The resident memory a study's largest cell needs, estimated from the parsed study before
/// anything is built or written: an upper bound in bytes, each part in Double (no overflow,
/// whatever sizes a file gives), for one process running one cell.
///
/// Parts, with P the model's parameters (`ParameterStore.estimatedCount`) and A the activation
/// buffers at the largest batch, the context length and a prefix as long as the context
/// (`Activations.estimatedBytes`, the runner's capacity):
/// - the bases' weights the run keeps, 4P per seed (one 4P shared by every seed of a pretrained base);
/// - the model the cell trains: weights 4P, plus for full fine-tuning (and pretraining) the
///   gradients 4P and AdamW's two moments 8P (a frozen base's gradient and moment pages are
///   never written, so they cost nothing resident);
/// - its activations A;
/// - the untouched base for KL(base ‖ tuned) when a column is running text: 4P + A;
/// - under `per-task`, one saved module per task, 4P each;
/// - ΔW of every linear site of one stage as it is committed, 4 bytes per linear weight;
/// - for full fine-tuning under `store: {weights: every | final}`, the trained weights as they
///   are committed, 4P;
/// - the loss curves, 4 bytes per training step of every task of the cell (or of pretraining).
/// PEFT methods' own tensors are small next to these and are left out.
public struct StudyMemoryEstimate: Sendable, Equatable {
    public var bytes: Double
    /// The configuration (or "pretraining") the largest figure belongs to.
    public var phase: String
    public var parts: [Part]

    public struct Part: Sendable, Equatable {
        public var name: String
        public var bytes: Double
    }

    /// "12.3 GiB (base weights 0.5 GiB, …)".
    public var description: String {
        "\(Self.gib(bytes)) for \(phase) (" + parts.map { "\($0.name) \(Self.gib($0.bytes))" }.joined(separator: ", ") + ")"
    }

    static func gib(_ bytes: Double) -> String {
        bytes >= 1e15 ? String(format: "%.2e bytes", bytes) : String(format: "%.2f GiB", bytes / 1_073_741_824)
    }
}

extension Study {
    /// Task kinds whose columns are running text (they add the KL reference model).
    static let runningTextKinds: Set<String> = ["text", "corpus", "grammar_lm", "base_skills"]

    /// The largest batch any phase uses (the runner's `maxB`).
    public var largestBatch: Int {
        var batches = [evaluation.batch, training.batch]
        if case .pretrain(let settings) = base.source { batches.append(settings.batch) }
        for run in runs { for spec in tasks { batches.append(run.training(for: spec, defaults: training).batch) } }
        return batches.max()!
    }

    /// The estimate for the largest cell (see `StudyMemoryEstimate`).
    public func memoryEstimate() throws -> StudyMemoryEstimate {
        let config = try model.modelConfig(vocabularySize: Vocabulary.size)
        let P = 4 * ParameterStore.estimatedCount(config)
        let A = Activations.estimatedBytes(config: config, maxB: largestBatch, maxT: config.contextLength, maxP: config.contextLength)
        let text = (tasks + base.skills).contains { Self.runningTextKinds.contains($0.kind) }
        let C = Double(config.dModel), F = Double(config.dFF), KVC = Double(config.kvChannels), L = Double(config.layers)
        let linear = 4 * L * (config.isLlama ? 2 * C * C + 2 * KVC * C + 3 * F * C : 4 * C * C + 2 * F * C)
        let bases = base.pretrained != nil ? 1.0 : Double(seeds.count)
        func phase(_ name: String, full: Bool, savedModules: Int, steps: Double) -> StudyMemoryEstimate {
            var parts = [StudyMemoryEstimate.Part(name: bases > 1 ? "base weights (\(Int(bases)) seeds)" : "base weights", bytes: bases * P),
                         .init(name: "model weights", bytes: P)]
            if full { parts.append(.init(name: "gradients and AdamW moments", bytes: 3 * P)) }
            parts.append(.init(name: "activations", bytes: A))
            if text { parts.append(.init(name: "the base again, for KL", bytes: P + A)) }
            if savedModules > 0 { parts.append(.init(name: "\(savedModules) saved per-task modules", bytes: Double(savedModules) * P)) }
            if name != "pretraining" { parts.append(.init(name: "ΔW of a stage", bytes: linear)) }
            if full, name != "pretraining", store.weights != .none { parts.append(.init(name: "trained weights as committed", bytes: P)) }
            parts.append(.init(name: "loss curves", bytes: 4 * steps))
            return StudyMemoryEstimate(bytes: parts.reduce(0) { $0 + $1.bytes }, phase: name, parts: parts)
        }
        var candidates: [StudyMemoryEstimate] = []
        if case .pretrain(let settings) = base.source {
            candidates.append(phase("pretraining", full: true, savedModules: 0, steps: Double(settings.steps)))
        }
        for run in runs {
            let steps = tasks.reduce(0.0) { $0 + Double(run.training(for: $1, defaults: training).steps) }
            candidates.append(phase(run.label, full: run.methodName == "full",
                                    savedModules: run.fineTuningProtocol == .perTask ? tasks.count : 0, steps: steps))
        }
        return candidates.max { $0.bytes < $1.bytes } ?? phase("evaluation", full: false, savedModules: 0, steps: 0)
    }

    /// The memory a study may plan for: `limit` when given, else the machine's physical memory.
    public static func memoryLimit(_ limit: Double?) -> Double {
        limit ?? Double(ProcessInfo.processInfo.physicalMemory)
    }
}
