import Analysis
import Foundation
import PEFTEngine

/// The merge problem measured on a stored cell: the model the cell computed with after task t,
/// W = W_base + ΔW at every linear matrix, against the same model merged for a 4-bit
/// deployment, W' = deq(Q(W)) (`NF4Requantization`), both re-evaluated with `StudyEvaluator`.
///
/// W_base, by method and protocol (docs/hdf5-layout.md, "ΔW conventions"):
/// - qlora, `sequential` / `per-task`: W0_q = deq(Q(W0)) with the cell's
///   `bnb_4bit_quant_type` and `bnb_4bit_use_double_quant` at `QLoRA.blocksize` — exactly what
///   `QLoRA.attach` writes (it quantizes every linear matrix of every block, adapted or not);
/// - lora (any protocol), and qlora under `merge` (whose stored ΔW is cumulative against W0):
///   W0, the stored base weights.
/// Sites without a stored ΔW keep W_base. QLoRA and LoRA train only their own tensors; any
/// trained base parameter the cell stored (`trainable/base`) is loaded too.
///
/// Re-quantization Q uses the cell's quant type and double-quant setting for qlora, NF4 with
/// double quantization (QLoRA's defaults) for lora, at the analysis blocksize.
///
/// Columns: the skills and tasks 1…t. Under `per-task` the runner evaluated earlier tasks with
/// their own modules, so only the skills and task t are re-evaluated. Each column is scored in
/// its own metric (`ColumnMetric`), negated where lower is better (−NLL), as the cell stored it.
public struct NF4MergeEvaluation: Sendable {
    public var cell: StudyResults.Cell
    /// 1-based task index.
    public var stage: Int
    /// Evaluated columns (indices into the accuracy matrix columns).
    public var columns: [Int]
    /// The stored score row at `columns` (`StudyResults.columnScores`).
    public var stored: [Double]
    /// Each evaluated column's metric.
    public var metrics: [ColumnMetric]
    /// Metrics with W = W_base + ΔW and with W' = deq(Q(W)), per column.
    public var before: [TaskMetrics]
    public var after: [TaskMetrics]
    public var format: QuantFormat
    public var doubleQuant: Bool
    public var blocksize: Int
    public var requantization: NF4Requantization

    /// Methods this part applies to.
    public static let methods = ["qlora", "lora"]

    /// Format and double-quant setting the merge re-quantizes `cell` with (and, for qlora, the
    /// one its base was quantized with).
    public static func quantization(of cell: StudyResults.Cell) throws -> (format: QuantFormat, doubleQuant: Bool) {
        guard cell.method == "qlora" else { return (.nf4, true) }
        let object = (try? JSONSerialization.jsonObject(with: Data(cell.configuration.utf8))) as? [String: Any]
        let type = object?["bnb_4bit_quant_type"] as? String ?? "nf4"
        let dq = object?["bnb_4bit_use_double_quant"] as? Bool ?? true
        guard let format = QLoRA.Configuration(useDoubleQuant: dq, quantType: type).format else {
            throw AnalysisError.invalidOption(name: "method", value: cell.label, reason: "configuration has bnb_4bit_quant_type \"\(type)\", not nf4/fp4")
        }
        return (format, dq)
    }

    /// The base weights ΔW of `cell` is relative to, for every linear matrix of `seed`'s model.
    public static func baseWeights(_ results: StudyResults, cell: StudyResults.Cell) throws -> [(name: String, tensor: Tensor)] {
        let names = try results.linearSites().map(\.weightName)
        let quantized = cell.method == "qlora" && cell.fineTuningProtocol != .merge
        let setting = try quantization(of: cell)
        return try names.map { name in
            let w0 = try results.baseWeight(seed: cell.seed, name: name)
            guard quantized else { return (name, w0) }
            let q = QuantizedTensor(quantizing: w0, format: setting.format, blocksize: QLoRA.blocksize, doubleQuant: setting.doubleQuant)
            return (name, q.dequantize())
        }
    }

    /// Builds W and W' for `cell` after task `stage`, and evaluates both.
    public static func evaluate(_ results: StudyResults, evaluator: StudyEvaluator, cell: StudyResults.Cell,
                                stage: Int, blocksize: Int) throws -> NF4MergeEvaluation {
        precondition(methods.contains(cell.method), "NF4MergeEvaluation: method \(cell.method) is not one of \(methods)")
        let setting = try quantization(of: cell)
        let deltaNames = Set(try results.deltaNames(cell, afterTask: stage))
        var before: [String: Tensor] = [:], after: [String: Tensor] = [:]
        for name in try results.trainedBaseNames(cell, afterTask: stage) {
            let tensor = try results.trainedBase(cell, afterTask: stage, name: name)
            before[name] = tensor
            after[name] = tensor
        }
        var requantization = NF4Requantization()
        for (name, base) in try baseWeights(results, cell: cell) {
            let delta = deltaNames.contains(name)
                ? try results.delta(cell, afterTask: stage, name: name) : Tensor(shape: base.shape, repeating: 0)
            before[name] = base + delta
            after[name] = requantization.merge(base: base, delta: delta, format: setting.format,
                                               blocksize: blocksize, doubleQuant: setting.doubleQuant)
        }
        let skills = results.skillNames.count
        let tasks = cell.fineTuningProtocol == .perTask ? [skills + stage - 1] : Array(skills..<(skills + stage))
        let columns = Array(0..<skills) + tasks
        let row = try results.columnScores(cell)[stage]
        let all = try results.columnMetric(cell).metrics
        return NF4MergeEvaluation(
            cell: cell, stage: stage, columns: columns, stored: columns.map { row[$0] }, metrics: columns.map { all[$0] },
            before: try evaluator.evaluate(seed: cell.seed, overrides: before, columns: columns),
            after: try evaluator.evaluate(seed: cell.seed, overrides: after, columns: columns),
            format: setting.format, doubleQuant: setting.doubleQuant, blocksize: blocksize, requantization: requantization)
    }

    /// The score of evaluated column i (its metric, negated where lower is better).
    func score(_ m: TaskMetrics, _ i: Int) -> Double {
        metrics[i].higherIsBetter ? metrics[i].value(m) : -metrics[i].value(m)
    }

    /// Mean score over the evaluated columns of one group: `new_task` (task t),
    /// `earlier_tasks` (tasks < t), `skills`; nil when the group has no evaluated column.
    public func accuracy(_ group: ColumnGroup, after merged: Bool, skillCount: Int) -> Double? {
        let evaluated = merged ? after : before
        let values = columns.indices.filter { group.contains(column: columns[$0], stage: stage, skillCount: skillCount) }
            .map { score(evaluated[$0], $0) }
        return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }

    /// max over evaluated columns of |before − stored|: 0 when the reconstruction of W is exact.
    public var storedMismatch: Double {
        before.indices.map { abs(score(before[$0], $0) - stored[$0]) }.max() ?? 0
    }

    public enum ColumnGroup: String, CaseIterable, Sendable {
        case newTask = "new_task", earlierTasks = "earlier_tasks", skills

        func contains(column c: Int, stage t: Int, skillCount s: Int) -> Bool {
            switch self {
            case .skills: return c < s
            case .newTask: return c == s + t - 1
            case .earlierTasks: return c >= s && c < s + t - 1
            }
        }
    }
}
