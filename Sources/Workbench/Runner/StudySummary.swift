import Foundation

/// The end-of-study table, read back from a results file: one row per method configuration.
///
/// From each cell's accuracy matrix R (exact match; row 0 = base, row t = after task t, task
/// columns in training order):
/// - just trained = mean over tasks j of R[j, j], each task's accuracy right after it was
///   trained (not `ContinualMetrics.learned`, which is the gain R[j][j] − R[0][j]);
/// - final task accuracy = mean over tasks j of R[T, j] (just trained − final is what later
///   tasks took away, averaged over all T tasks; the last one loses nothing by definition);
/// - base-skill retention = mean over skills k with R[0, k] > 0 of R[T, k] / R[0, k]
///   (1 = nothing forgotten; skills the base never solved are left out, nil if none);
/// both averaged over the configuration's completed seeds; wall time summed over them.
///
/// From the per-column `metric` matrix (`ColumnMetric`; a pretrained base's study has one), also:
/// - learned = mean over tasks j of the gain R[j][j] − R[0][j] in the task's own metric, signed
///   so that positive is better (for NLL: the drop in nats);
/// - general-text ΔNLL = mean over `mean_nll` skill columns of R[T][s] − R[0][s] (nats/token;
///   positive = forgotten);
/// - probe retention = mean over `choice_accuracy` skill columns of R[T][s] / R[0][s] (and each
///   probe skill's own, when there are several: e.g. the untouched facts and the edited ones);
/// - KL = mean over language-modelling skill columns of KL(base ‖ tuned) after the last task;
/// - ΔW rank90 = the median over linear sites of ΔW's energy-90 % rank after the last task, and
///   its maximum (`delta_energy90_rank`).
public enum StudySummary {
    public struct Row: Sendable, Equatable {
        public var label: String
        public var method: String
        public var seeds: Int
        public var justTrainedAccuracy: Double
        public var finalTaskAccuracy: Double
        public var baseSkillRetention: Double?
        public var wallTime: Double
        /// Seeds whose training diverged.
        public var diverged: Int
        /// The pretrained-model figures (see the type); nil where the study has no such column.
        public var learnedGain: Double? = nil
        /// The gain of each task (in its own metric, positive = better), and the tasks' names and
        /// metrics, when the tasks do not share one metric (their mean would mix units).
        public var learnedByTask: [Double]? = nil
        public var taskLabels: [String]? = nil
        /// The tasks' metric when they share one (e.g. "exact_match"), else "mixed".
        public var learnedMetric: String? = nil
        public var generalTextNLLIncrease: Double? = nil
        public var probeRetention: Double? = nil
        /// With several probe skills: each one's retention, and their names.
        public var probeRetentionBySkill: [Double]? = nil
        public var probeNames: [String]? = nil
        public var klFromBase: Double? = nil
        public var deltaRank90Median: Double? = nil
        public var deltaRank90Max: Int? = nil
        /// QLoRA: text ΔNLL and probe retention of its 4-bit base before any step (what the
        /// quantization alone cost, included in the figures above).
        public var quantizedBaseNLLIncrease: Double? = nil
        public var quantizedBaseProbeRetention: Double? = nil

        /// Whether the row carries the pretrained-model figures.
        public var isPretrainedForm: Bool { generalTextNLLIncrease != nil || probeRetention != nil }
    }

    /// The pretrained-model figures of one cell (see the type) from its `metric` matrix `r`
    /// [rows, cols] row-major with per-column metrics and kinds, its `kl` matrix (same shape, NaN
    /// where unmeasured) and the last stage's energy-90 ranks.
    public static func metricFigures(_ r: [Double], rows: Int, metrics: [ColumnMetric], kinds: [String], kl: [Double]?,
                                     ranks: [Int]) -> (learned: Double?, learnedMetric: String?, byTask: [Double], nll: Double?, probe: Double?,
                                                       kl: Double?, rankMedian: Double?, rankMax: Int?) {
        let cols = metrics.count
        let last = (rows - 1) * cols
        let tasks = (0..<cols).filter { kinds[$0] == "task" }
        var learned: Double?
        var byTask: [Double] = []
        if rows == tasks.count + 1, !tasks.isEmpty {
            byTask = tasks.enumerated().map { j, c in
                let gain = r[(j + 1) * cols + c] - r[c]
                return metrics[c].higherIsBetter ? gain : -gain
            }
            learned = byTask.reduce(0, +) / Double(tasks.count)
        }
        let taskMetrics = Set(tasks.map { metrics[$0].rawValue })
        func mean(_ values: [Double]) -> Double? { values.isEmpty ? nil : values.reduce(0, +) / Double(values.count) }
        let skills = (0..<cols).filter { kinds[$0] == "skill" }
        let nll = mean(skills.filter { metrics[$0] == .meanNLL }.map { r[last + $0] - r[$0] })
        let probe = mean(skills.filter { metrics[$0] == .choiceAccuracy && r[$0] > 0 }.map { r[last + $0] / r[$0] })
        let klValues = kl.map { k in skills.map { k[last + $0] }.filter { !$0.isNaN } } ?? []
        let sorted = ranks.filter { $0 >= 0 }.sorted()
        let median: Double? = sorted.isEmpty ? nil
            : sorted.count % 2 == 1 ? Double(sorted[sorted.count / 2]) : Double(sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        return (learned, taskMetrics.count == 1 ? taskMetrics.first : "mixed", byTask, nll, probe, mean(klValues), median, sorted.last)
    }

    /// One cell's figures from its accuracy matrix `r`, [rows, columns] row-major, whose columns
    /// are of the given kinds ("skill" or "task"): learned, final task accuracy and base-skill
    /// retention (nil when the base solved no skill); nil when the matrix's shape does not fit
    /// its column kinds (one row per task plus the base row).
    public static func cellFigures(_ r: [Double], rows: Int, kinds: [String]) -> (justTrained: Double, final: Double, retention: Double?)? {
        let cols = kinds.count
        let taskColumns = (0..<cols).filter { kinds[$0] == "task" }
        guard rows >= 1, r.count == rows * cols, rows == taskColumns.count + 1 else { return nil }
        let last = (rows - 1) * cols
        let count = Double(max(taskColumns.count, 1))
        let justTrained = taskColumns.enumerated().reduce(0) { $0 + r[($1.offset + 1) * cols + $1.element] } / count
        let final = taskColumns.reduce(0) { $0 + r[last + $1] } / count
        let skills = (0..<cols).filter { kinds[$0] == "skill" && r[$0] > 0 }
        let retention = skills.isEmpty ? nil : skills.reduce(0) { $0 + r[last + $1] / r[$1] } / Double(skills.count)
        return (justTrained, final, retention)
    }

    /// Rows for every configuration with at least one completed cell, in the file's cell order.
    public static func read(from url: URL) throws -> [Row] {
        let parts: StudyParts
        do {
            parts = try StudyParts(index: url)
        } catch let error as AnalysisError {
            throw RunnerError.io(path: url.path, detail: error.description)
        }
        defer { parts.close() }
        var order: [String] = []
        var byRun: [String: [(accuracy: HDF5Array<Double>, kinds: [String], group: HDF5Group)]] = [:]
        for path in parts.cells.map(\.path) {
            let found: HDF5Group?
            do { found = try parts.cell(path) } catch let error as AnalysisError { throw RunnerError.io(path: url.path, detail: error.description) }
            guard let group = found else { continue }
            let runPath = String(path[..<path.lastIndex(of: "/")!])
            let dataset = try group.dataset("accuracy")
            guard case .strings(let kinds) = try dataset.attribute("column_kinds") else { continue }
            if byRun[runPath] == nil { order.append(runPath) }
            byRun[runPath, default: []].append((try dataset.readArray(as: Double.self), kinds, group))
        }
        return try order.map { runPath in
            let cells = byRun[runPath]!
            var justTrained = 0.0, final = 0.0, retention = 0.0, retained = 0, wall = 0.0, diverged = 0
            for cell in cells {
                guard let figures = cellFigures(cell.accuracy.values, rows: cell.accuracy.shape[0], kinds: cell.kinds) else {
                    throw RunnerError.io(path: url.path, detail: "\(runPath): accuracy matrix of shape \(cell.accuracy.shape) does not match its \(cell.kinds.count) column kinds")
                }
                justTrained += figures.justTrained
                final += figures.final
                if let r = figures.retention {
                    retention += r
                    retained += 1
                }
                wall += try cell.group.doubleAttribute("wall_time")
                if try cell.group.hasAttribute("diverged_at_step") { diverged += 1 }
            }
            var extra = PretrainedFigures()
            for cell in cells { try extra.add(cell.group) }
            let first = cells[0].group
            var row = Row(label: try first.stringAttribute("label"), method: try first.stringAttribute("method"),
                       seeds: cells.count, justTrainedAccuracy: justTrained / Double(cells.count),
                       finalTaskAccuracy: final / Double(cells.count),
                       baseSkillRetention: retained > 0 ? retention / Double(retained) : nil,
                       wallTime: wall, diverged: diverged)
            extra.fill(&row)
            return row
        }
    }

    /// Sums of the pretrained-model figures over a configuration's cells.
    struct PretrainedFigures {
        var learned: [Double] = [], nll: [Double] = [], probe: [Double] = [], kl: [Double] = [], rankMedian: [Double] = []
        var byTask: [[Double]] = []
        var taskLabels: [String] = []
        var quantizedNLL: [Double] = [], quantizedProbe: [Double] = []
        var probeBySkill: [[Double]] = []
        var probeNames: [String] = []
        var rankMax: Int?
        var learnedMetric: String?

        mutating func add(_ group: HDF5Group) throws {
            guard try group.contains("metric") else { return }
            let dataset = try group.dataset("metric")
            guard case .strings(let names) = try dataset.attribute("column_metrics"),
                  case .strings(let kinds) = try dataset.attribute("column_kinds") else { return }
            let metrics = names.map { ColumnMetric(rawValue: $0) ?? .exactMatch }
            let matrix = try dataset.readArray(as: Double.self)
            let klMatrix = try group.contains("kl_from_base") ? try group.readArray("kl_from_base", as: Double.self).values : nil
            let rows = matrix.shape[0]
            var ranks: [Int] = []
            let lastStage = "after_task\(rows - 1)/\(DeltaStore.energyRankDataset)"
            if rows > 1, try group.contains(lastStage) { ranks = try group.readArray(lastStage, as: Int64.self).values.map { Int($0) } }
            let f = StudySummary.metricFigures(matrix.values, rows: rows, metrics: metrics, kinds: kinds, kl: klMatrix, ranks: ranks)
            if let v = f.learned { learned.append(v) }
            if let v = f.nll { nll.append(v) }
            if let v = f.probe { probe.append(v) }
            let probes = (0..<metrics.count).filter { kinds[$0] == "skill" && metrics[$0] == .choiceAccuracy }
            if probes.count > 1, probes.allSatisfy({ matrix.values[$0] > 0 }) {
                let last = (rows - 1) * metrics.count
                probeBySkill.append(probes.map { matrix.values[last + $0] / matrix.values[$0] })
                if case .strings(let names)? = try? dataset.attribute("column_names") { probeNames = probes.map { names[$0] } }
            }
            if let v = f.kl { kl.append(v) }
            if let v = f.rankMedian { rankMedian.append(v) }
            if let v = f.rankMax { rankMax = max(rankMax ?? v, v) }
            learnedMetric = f.learnedMetric
            if !f.byTask.isEmpty { byTask.append(f.byTask) }
            if try group.contains("quantized_base_metric") {
                // Rows: the base, then the 4-bit base, through the same formulas.
                let quantized = try group.readArray("quantized_base_metric", as: Double.self).values
                let cols = metrics.count
                let pair = Array(matrix.values[0..<cols]) + quantized
                let q = StudySummary.metricFigures(pair, rows: 2, metrics: metrics, kinds: kinds, kl: nil, ranks: [])
                if let v = q.nll { quantizedNLL.append(v) }
                if let v = q.probe { quantizedProbe.append(v) }
            }
            taskLabels = (0..<metrics.count).filter { kinds[$0] == "task" }.map { c in
                let names = (try? dataset.attribute("column_names")).flatMap { value -> [String]? in
                    if case .strings(let n) = value { return n } else { return nil }
                }
                return "\(names?[c] ?? "task") (\(metrics[c].rawValue))"
            }
        }

        func fill(_ row: inout Row) {
            func mean(_ v: [Double]) -> Double? { v.isEmpty ? nil : v.reduce(0, +) / Double(v.count) }
            row.learnedGain = mean(learned)
            row.learnedMetric = learnedMetric
            if learnedMetric == "mixed", let first = byTask.first {
                row.learnedByTask = first.indices.map { i in byTask.reduce(0) { $0 + $1[i] } / Double(byTask.count) }
                row.taskLabels = taskLabels
            }
            row.generalTextNLLIncrease = mean(nll)
            row.probeRetention = mean(probe)
            if let first = probeBySkill.first {
                row.probeRetentionBySkill = first.indices.map { i in probeBySkill.reduce(0) { $0 + $1[i] } / Double(probeBySkill.count) }
                row.probeNames = probeNames
            }
            row.klFromBase = mean(kl)
            row.deltaRank90Median = mean(rankMedian)
            row.deltaRank90Max = rankMax
            row.quantizedBaseNLLIncrease = mean(quantizedNLL)
            row.quantizedBaseProbeRetention = mean(quantizedProbe)
        }
    }
}
