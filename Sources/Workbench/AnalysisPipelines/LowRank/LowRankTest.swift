import Analysis
import Foundation
import PEFTEngine

/// The direct test of the low-rank hypothesis (Hu et al. 2021, "LoRA", §7; Aghajanyan et al.
/// 2020 on intrinsic dimension): is the update full fine-tuning learns, ΔW = W_t − W0,
/// effectively of low rank? If so, replacing every ΔW by its best rank-k approximation
/// (`RankTruncation`, Eckart–Young) for small k keeps the accuracy full fine-tuning reached.
///
/// For every selected `full` cell and stage t (after task t), each linear matrix is set to
///
///     W = W0 + trunc_k(ΔW_t)
///
/// with W0 from `/seed{s}/base/weights` and ΔW_t the stored `after_task{t}/delta`, for k in the
/// rank list, in mode `all` (every selected linear matrix at once) or per matrix type (only
/// `attn.q`, …, `mlp.proj` truncated; the others keep their full ΔW). In mode `matrices_only`
/// every other parameter is set back to the base's as well, so k = 0 is the base model and
/// k = full the trained linear matrices alone. Otherwise **everything else —
/// embeddings, LayerNorms, biases, lm_head — keeps its trained value after task t**
/// (`after_task{t}/trainable/base`), as do matrices excluded by the `--matrix` filter. A matrix
/// at k ≥ min(out, in) is not truncated at all: it keeps its stored trained weight W_t (equal to
/// W0 + ΔW_t up to one float rounding), so k = full reproduces the stored row R[t] exactly, and
/// k = 0 is the trained model with ΔW removed from the truncated matrices.
///
/// Each model is re-evaluated by `StudyEvaluator` on the skills and tasks 1…t (only task t for
/// `per-task` cells), by exact match (or token accuracy: `LowRankOptions.metric`); identical
/// models (e.g. k = full in every mode) are evaluated once, and
/// each ΔW is decomposed once per stage. The measures are `LowRankMeasures`, plus
/// gain_recovered = (acc_k − acc_0)/(acc_full − acc_0) on task t, with acc_0 and acc_full from
/// the same mode (acc_0 of mode `attn.q` removes only the q matrices' ΔW), and energy_kept =
/// mean over the truncated matrices of Σ_{i≤k}σᵢ²/Σσᵢ².
///
/// LoRA-family cells (`lora`, `qlora`, `dora`) are put on the same axes from their stored
/// accuracy matrices: one row per stage at k = r (the configuration's `r`), mode = the method
/// name, gain_recovered relative to the `all`-mode acc_0 and acc_full of the first selected
/// full cell of the same seed.
public enum LowRankTest {
    /// Reports `done` of `total` model evaluations.
    public typealias Progress = (_ done: Int, _ total: Int) -> Void

    /// Methods whose ΔW has a rank r set in the configuration (`r`).
    public static let rankedMethods = ["lora", "qlora", "dora"]

    /// Conventions printed above the tables.
    public static let notes = [
        "W = W0 + trunc_k(ΔW) per linear matrix (best rank-k, Eckart–Young); embeddings, LayerNorms, biases and lm_head keep their trained values after task t.",
        "k ≥ min(out, in) keeps the stored trained matrix, so k = full reproduces the stored accuracy row; k = 0 removes ΔW from the truncated matrices.",
        "mode all truncates every linear matrix at once; mode attn.q (…) truncates only that type, the others keep their full ΔW.",
        "mode matrices_only truncates like all and sets every other parameter (embeddings, norms, biases, head) back to the base's: at k = 0 it is the base model, at k = full the trained matrices alone; its acc_0/acc_full are those two.",
        "gain_recovered = (acc_k − acc_0)/(acc_full − acc_0) on the new task, acc_0/acc_full of the same mode; missing when acc_full ≈ acc_0 (no gain to recover).",
        "forgetting = mean over earlier tasks j of R[j][j] − acc_k[j] (stored accuracy right after task j minus now); missing for the first task and for per-task cells.",
        "lora/qlora/dora rows: the stored accuracies at k = r; their gain_recovered uses full's acc_0/acc_full (mode all) of the same seed and stage, from the study's first full configuration (the only one, unless full is swept).",
        "summary: mean and sample standard deviation (n − 1) across seeds; std missing when n < 2.",
        "A study stored with `store: {weights: none}` keeps no trained embeddings or norms: they are then the base's in every re-evaluation (the linear matrices are W0 + ΔW, truncated or not), so k = full reproduces the stored row only when nothing else was trained.",
        "metric (default): each column's own measure as a score, −NLL where lower is better; acc_… means over skills of different measures mix units — read the per-column tables for those.",
    ]

    /// Runs the test on `results`, or reads its tables back from `/analysis/lowrank` when stored
    /// for the same options (unless `recompute`), and stores them otherwise.
    ///
    /// - Throws: `AnalysisError.invalidOption` for bad options, `.nothingSelected` when the
    ///   filters leave no cell, stage or matrix, `.missing` when no selected cell is `full`.
    public static func run(_ results: StudyResults, options: LowRankOptions = LowRankOptions(),
                           recompute: Bool = false, progress: Progress? = nil) throws -> AnalysisReport {
        try options.validate()
        try options.filter.validate(against: results)
        var report = try AnalysisRun.cachedOrComputed(results, analysis: "lowrank", parameters: options.parameters,
                                                      recompute: recompute, notes: notes + (try options.filter.cellsWithFiniteUpdates(of: results).note)) {
            try tables(results, options: options, progress: progress)
        }
        report.displayTables = report.tables.filter { $0.name == "lowrank_rank_needed" }
        return report
    }

    /// Computes `lowrank_curve` and `lowrank_summary` (no storing).
    public static func tables(_ results: StudyResults, options: LowRankOptions, progress: Progress? = nil) throws -> [TidyTable] {
        let selected = try options.filter.cellsWithFiniteUpdates(of: results).cells
        let fullCells = selected.filter { $0.method == "full" }
        guard !fullCells.isEmpty else {
            let inFile = Set(results.cells.map(\.method)).sorted().joined(separator: ", ")
            throw AnalysisError.missing(
                path: results.url.path, object: "cell of method full among the selected cells",
                hint: "the rank-k truncation needs full fine-tuning's full-rank ΔW; methods in the file: \(inFile)")
        }
        let plans = try fullCells.flatMap { try stagePlans(results, cell: $0, options: options) }
        guard !plans.isEmpty else {
            throw AnalysisError.nothingSelected(path: results.url.path, filters: "\(options.filter.description) (no stage with a truncatable ΔW in the selected full cells)")
        }
        let total = plans.reduce(0) { $0 + $1.evaluationCount }
        var done = 0
        progress?(0, total)
        let evaluator = try StudyEvaluator(results: results)
        var curve = curveTable(metric: options.metric)
        var fullBaselines: [SeedStage: (acc0: Double, accFull: Double)] = [:]
        for plan in plans {
            let outcome = try evaluate(plan, results: results, evaluator: evaluator, metric: options.metric) {
                done += 1
                progress?(done, total)
            }
            for row in outcome.rows { curve.append(row) }
            let key = SeedStage(seed: plan.cell.seed, task: plan.task)
            if fullBaselines[key] == nil { fullBaselines[key] = outcome.baseline }
        }
        for cell in selected where rankedMethods.contains(cell.method) {
            for row in try rankedMethodRows(results, cell: cell, options: options, fullBaselines: fullBaselines) {
                curve.append(row)
            }
        }
        let summary = summaryTable(of: curve)
        return [curve, summary, rankNeededTable(of: summary)]
    }

    struct SeedStage: Hashable { var seed: Int; var task: Int }
}
