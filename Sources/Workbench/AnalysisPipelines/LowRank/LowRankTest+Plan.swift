import Analysis
import Foundation
import PEFTEngine

/// One stage of one full cell: which matrices each mode truncates, which ranks are reported,
/// and the distinct models that must be evaluated for them.
extension LowRankTest {
    /// A model to evaluate: matrix name → rank it is truncated to (only ranks below the
    /// matrix's min(out, in)); every other linear matrix keeps its trained value, and every
    /// other parameter too unless `revertsRest` sets it back to the base's. Empty and not
    /// reverting = the stored trained model.
    struct Truncation: Hashable {
        var ranks: [String: Int] = [:]
        var revertsRest = false
    }

    struct StagePlan {
        var cell: StudyResults.Cell
        /// t, 1-based.
        var task: Int
        var taskName: String
        /// min(out, in) of each selected ΔW, in the file's site order.
        var fullRanks: [(name: String, rank: Int)]
        /// (mode, the matrices it truncates), modes with no selected matrix left out.
        var modes: [(mode: String, names: [String])]
        /// Ranks reported.
        var ranks: [Int]
        /// Distinct models to evaluate, in a fixed order.
        var evaluations: [Truncation]

        var evaluationCount: Int { evaluations.count }

        /// The model of `mode` at rank `k`: its matrices whose min(out, in) exceeds k, at k.
        func truncation(mode: String, names: [String], rank k: Int) -> Truncation {
            var t = Truncation(revertsRest: mode == LowRankOptions.matricesOnly)
            for (name, full) in fullRanks where k < full && names.contains(name) { t.ranks[name] = k }
            return t
        }
    }

    /// Plans for the selected stages of `cell`: tasks passing the task filter, ΔW of matrices
    /// passing the matrix filter.
    static func stagePlans(_ results: StudyResults, cell: StudyResults.Cell, options: LowRankOptions) throws -> [StagePlan] {
        let taskNames = results.taskNames
        var plans: [StagePlan] = []
        var shapes: [String: [Int]] = [:]
        guard cell.taskCount >= 1 else { return [] }
        for t in 1...cell.taskCount where options.filter.selects(task: taskNames[t - 1]) {
            let names = try results.deltaNames(cell, afterTask: t).filter(options.filter.selects(matrix:))
            guard !names.isEmpty else { continue }
            var fullRanks: [(name: String, rank: Int)] = []
            for name in names {
                if shapes[name] == nil { shapes[name] = try results.baseWeight(seed: cell.seed, name: name).shape }
                let shape = shapes[name]!
                precondition(shape.count == 2, "LowRankTest: base weight \(name) of seed \(cell.seed) is not a matrix: \(shape)")
                fullRanks.append((name, min(shape[0], shape[1])))
            }
            let modes = options.modes.compactMap { mode -> (mode: String, names: [String])? in
                let truncated = names.filter { LowRankOptions.mode(mode, truncates: $0) }
                return truncated.isEmpty ? nil : (mode, truncated)
            }
            guard !modes.isEmpty else { continue }
            let largest = fullRanks.filter { r in modes.contains { $0.names.contains(r.name) } }.map(\.rank).max() ?? 0
            var plan = StagePlan(cell: cell, task: t, taskName: taskNames[t - 1], fullRanks: fullRanks, modes: modes,
                                 ranks: options.ranks ?? LowRankOptions.defaultRanks(fullRank: largest), evaluations: [])
            // Every reported (mode, k), each mode's k = 0 and the stored model (for
            // gain_recovered), and mode `all` at k = 0 (the baseline LoRA rows are set against).
            var wanted: [Truncation] = [Truncation(), plan.truncation(mode: "all", names: names, rank: 0)]
            for (mode, modeNames) in modes {
                if mode == LowRankOptions.matricesOnly { wanted.append(Truncation(revertsRest: true)) }
                wanted.append(plan.truncation(mode: mode, names: modeNames, rank: 0))
                for k in plan.ranks { wanted.append(plan.truncation(mode: mode, names: modeNames, rank: k)) }
            }
            var seen = Set<Truncation>()
            plan.evaluations = wanted.filter { seen.insert($0).inserted }
            plans.append(plan)
        }
        return plans
    }

    /// Rows of one stage's curve, and full's (acc_0, acc_full) on the new task in mode `all`.
    struct StageOutcome {
        var rows: [[TidyTable.Value]]
        var baseline: (acc0: Double, accFull: Double)
    }

    /// Evaluates every model of `plan` (calling `tick` after each) and builds its rows.
    static func evaluate(_ plan: StagePlan, results: StudyResults, evaluator: StudyEvaluator, metric: LowRankOptions.Metric,
                         tick: () -> Void) throws -> StageOutcome {
        let cell = plan.cell, t = plan.task
        let stored = try metric.stored(results, cell)
        let columnMetrics = try results.columnMetric(cell).metrics
        let skillCount = results.skillNames.count
        let earlier = cell.fineTuningProtocol != .perTask
        var trained: [String: Tensor] = [:]
        for name in try results.trainedBaseNames(cell, afterTask: t) {
            trained[name] = try results.trainedBase(cell, afterTask: t, name: name)
        }
        let linear = Set(try results.deltaNames(cell, afterTask: t))
        var truncations: [String: RankTruncation] = [:]
        var w0: [String: Tensor] = [:]
        for (name, _) in plan.fullRanks {
            let delta = try results.delta(cell, afterTask: t, name: name)
            truncations[name] = try RankTruncation(delta)
            w0[name] = try results.baseWeight(seed: cell.seed, name: name)
            // Without stored trained weights (`store: {weights: none}`) the stored model's
            // matrices are W0 + ΔW: the model every truncation starts from.
            if trained[name] == nil { trained[name] = w0[name]! + delta }
        }

        let columns = LowRankMeasures.columns(skillCount: skillCount, task: t, earlierTasks: earlier)
        var accuracies: [Truncation: [Int: Double]] = [:]
        for truncation in plan.evaluations {
            // Parameters left out of the overrides keep the base's value in the rebuilt model.
            var overrides = truncation.revertsRest ? trained.filter { linear.contains($0.key) } : trained
            for (name, k) in truncation.ranks { overrides[name] = w0[name]! + truncations[name]!.approximation(rank: k) }
            let metrics = try evaluator.evaluate(seed: cell.seed, overrides: overrides, columns: columns)
            accuracies[truncation] = Dictionary(uniqueKeysWithValues: zip(columns, metrics).map { c, m in
                (c, metric.value(m, column: c, columns: columnMetrics))
            })
            tick()
        }
        func measures(_ truncation: Truncation) -> LowRankMeasures {
            let acc = accuracies[truncation]!
            return LowRankMeasures(accuracy: { acc[$0]! }, stored: stored, skillCount: skillCount, task: t, earlierTasks: earlier)
        }

        var rows: [[TidyTable.Value]] = []
        for (mode, names) in plan.modes {
            let acc0 = measures(plan.truncation(mode: mode, names: names, rank: 0)).accNewTask
            let accFull = measures(Truncation(revertsRest: mode == LowRankOptions.matricesOnly)).accNewTask
            for k in plan.ranks {
                let m = measures(plan.truncation(mode: mode, names: names, rank: k))
                let energies = names.compactMap { truncations[$0]!.energyKept(rank: k) }
                rows.append(curveRow(
                    cell: cell, stage: plan.taskName, task: t, mode: mode, k: k,
                    energyKept: energies.isEmpty ? nil : LowRankMeasures.mean(energies), measures: m,
                    gainRecovered: LowRankMeasures.gainRecovered(acc: m.accNewTask, acc0: acc0, accFull: accFull)))
            }
        }
        let allNames = plan.fullRanks.map(\.name)
        return StageOutcome(rows: rows, baseline: (measures(plan.truncation(mode: "all", names: allNames, rank: 0)).accNewTask,
                                                   measures(Truncation()).accNewTask))
    }
}
