import Foundation

extension NF4Effect {
    /// `nf4_merge`: one row per selected qlora/lora cell and stage (`NF4MergeEvaluation`).
    static func mergeTable(_ results: StudyResults, cells: [StudyResults.Cell], filter: AnalysisFilter,
                           blocksize: Int, progress: (String) -> Void) throws -> TidyTable {
        var table = TidyTable(
            name: "nf4_merge", summary: "one row per qlora/lora cell and stage: accuracy before/after merging ΔW into a 4-bit base",
            columns: [
                .init("method", "qlora or lora"), .init("label", "configuration label"), .init("protocol", "fine-tuning protocol"),
                .init("seed", "seed"), .init("stage", "after task t"), .init("task", "task trained at this stage"),
                .init("quant_type", "format of the re-quantization (and of qlora's base)"),
                .init("double_quant", "1 when block absmaxes are double-quantized"), .init("blocksize", "values per block of the re-quantization"),
                .init("new_task_before", "exact match on task t with W = W_base + ΔW"), .init("new_task_after", "same with W' = deq(Q(W))"),
                .init("earlier_tasks_before", "mean exact match on tasks < t, before"), .init("earlier_tasks_after", "same, after"),
                .init("skills_before", "mean exact match on the base skills, before"), .init("skills_after", "same, after"),
                .init("stored_mismatch", "max |before − stored accuracy| over the evaluated columns (0: W reconstructed exactly)"),
                .init("error_over_delta", "‖W' − W‖_F / ‖ΔW‖_F over all linear matrices"),
                .init("error_over_weight", "‖W' − W‖_F / ‖W‖_F over all linear matrices"),
                .init("delta_below_half_step", "fraction of ΔW entries smaller than half the local quantization step"),
            ])
        let chosen = cells.filter { NF4MergeEvaluation.methods.contains($0.method) }
        guard !chosen.isEmpty else { return table }
        let evaluator = try StudyEvaluator(results: results)
        let jobs = chosen.flatMap { cell in stages(of: cell, results: results, filter: filter).map { (cell, $0) } }
        let skills = results.skillNames.count
        for (index, (cell, stage)) in jobs.enumerated() {
            progress("nf4 merge \(index + 1)/\(jobs.count): \(cell.label)/seed\(cell.seed) after task \(stage)")
            let e = try NF4MergeEvaluation.evaluate(results, evaluator: evaluator, cell: cell, stage: stage, blocksize: blocksize)
            func acc(_ g: NF4MergeEvaluation.ColumnGroup, _ merged: Bool) -> TidyTable.Value {
                e.accuracy(g, after: merged, skillCount: skills).map(TidyTable.Value.number) ?? .missing
            }
            table.append([
                .text(cell.method), .text(cell.label), .text(cell.fineTuningProtocol.rawValue), .integer(cell.seed), .integer(stage),
                .text(results.taskNames[stage - 1]), .text(e.format.rawValue), .integer(e.doubleQuant ? 1 : 0), .integer(blocksize),
                acc(.newTask, false), acc(.newTask, true), acc(.earlierTasks, false), acc(.earlierTasks, true),
                acc(.skills, false), acc(.skills, true), .number(e.storedMismatch),
                e.requantization.errorOverDelta.map(TidyTable.Value.number) ?? .missing,
                .number(e.requantization.errorOverWeight), .number(e.requantization.fractionBelowHalfStep),
            ])
        }
        return table
    }
}
