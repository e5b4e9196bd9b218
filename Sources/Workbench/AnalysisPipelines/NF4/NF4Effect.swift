import Analysis
import Foundation
import PEFTEngine

/// The NF4 effect analysis (`workbench nf4`): what 4-bit blockwise quantization does to a
/// study's weights and updates, and what it does to QLoRA.
///
/// 1. `nf4_error` / `nf4_error_summary`: quantization error of NF4 and FP4 (bitsandbytes', bit
///    for bit), the OCP E2M1 grid and absmax int4,
///    with and without double quantization (`NF4ErrorMeasurement`), on W0 of every linear
///    matrix per seed (target `base`), on the fine-tuned W = W_base + ΔW of every selected cell
///    and stage with a weight-space ΔW (`finetuned`; W_base as in `NF4MergeEvaluation`: W0_q
///    for QLoRA), and on ΔW alone (`delta`).
/// 2. `qlora_vs_lora`: matched qlora/lora cells (`NF4QLoRAPair`), accuracy summaries
///    (`NF4AccuracySummary`), per-seed differences qlora − lora and their mean ± std.
/// 3. `nf4_merge`: accuracy before/after merging ΔW into a 4-bit base (`NF4MergeEvaluation`).
///
/// Results are stored under `/analysis/nf4/…` keyed by the filter and the blocksize.
public enum NF4Effect {
    public static let analysis = "nf4"
    /// Names of the tables, in the order they are computed and printed.
    public static let tableOrder = ["nf4_error", "nf4_error_summary", "qlora_vs_lora", "nf4_merge"]
    static let targets = (base: "base", finetuned: "finetuned", delta: "delta")

    /// Options beyond the filter.
    public struct Options: Sendable, Equatable, Codable {
        /// Values per quantization block (power of two in 32…4096), for parts 1 and 3.
        public var blocksize: Int
        public init(blocksize: Int = 64) { self.blocksize = blocksize }

        /// - Throws: `AnalysisError.invalidOption` for a blocksize `QuantizedTensor` cannot use.
        public func validate() throws {
            guard QuantizedTensor.isValidBlocksize(blocksize) else {
                throw AnalysisError.invalidOption(name: "blocksize", value: String(blocksize), reason: "must be a power of two from 32 to 4096")
            }
        }
    }

    /// Canonical JSON (sorted keys) of the filter, the options and `QuantFormat.tableVersion`: the
    /// key the tables are stored under. A table stored under an older codebook version (before
    /// version 2 the key had no `quant_tables`, and `fp4` meant the E2M1 grid) is never read
    /// back: it is recomputed, and the stale table is dropped when the new one is stored.
    public static func parameters(filter: AnalysisFilter, options: Options) -> String {
        struct Key: Encodable { var filter: AnalysisFilter; var blocksize: Int; var quant_tables: Int }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let key = Key(filter: filter, blocksize: options.blocksize, quant_tables: QuantFormat.tableVersion)
        return String(decoding: (try? encoder.encode(key)) ?? Data(), as: UTF8.self)
    }

    /// Runs (or reads back) the three parts on the cells `filter` selects. `progress` receives
    /// one line per merge evaluation.
    public static func run(_ results: StudyResults, filter: AnalysisFilter = AnalysisFilter(), options: Options = Options(),
                           recompute: Bool = false, progress: (String) -> Void = { _ in }) throws -> AnalysisReport {
        try options.validate()
        try filter.validate(against: results)
        let cells = try filter.cells(of: results)
        let qloraCells = cells.filter { $0.method == "qlora" }
        let matching = NF4QLoRAPair.match(qloraCells, among: results.cells)
        var notes = conventions(blocksize: options.blocksize)
        notes += matching.unmatched
        notes += cells.filter(\.diverged).map { "\($0.label)/seed\($0.seed) diverged: left out of nf4_error and nf4_merge" }
        var computeNotes: [String] = []
        var report = try AnalysisRun.cachedOrComputed(
            results, analysis: analysis, parameters: parameters(filter: filter, options: options), recompute: recompute, notes: notes,
            isStale: isFromOlderCodebook
        ) {
            let healthy = cells.filter { !$0.diverged }
            let errors = try errorTable(results, cells: healthy, filter: filter, blocksize: options.blocksize, notes: &computeNotes)
            return [errors, summaryTable(errors),
                    try comparisonTable(results, pairs: matching.pairs),
                    try mergeTable(results, cells: healthy, filter: filter, blocksize: options.blocksize, progress: progress)]
        }
        report.notes += computeNotes
        // Stored tables come back in name order: restore the order they were computed in.
        report.tables.sort { (tableOrder.firstIndex(of: $0.name) ?? Int.max) < (tableOrder.firstIndex(of: $1.name) ?? Int.max) }
        report.displayTables = report.tables.filter { $0.name != "nf4_error" }
        return report
    }

    /// Whether stored parameters were written with an older `QuantFormat.tableVersion` (or
    /// before the version was recorded).
    static func isFromOlderCodebook(_ parameters: String) -> Bool {
        let object = (try? JSONSerialization.jsonObject(with: Data(parameters.utf8))) as? [String: Any]
        return (object?["quant_tables"] as? Int) != QuantFormat.tableVersion
    }

    static func conventions(blocksize: Int) -> [String] {
        [
            "nf4_error: blockwise absmax quantization, blocksize \(blocksize), row-major blocks, as bitsandbytes 0.50 computes it on CPU (nf4 and fp4 bit for bit; codebook version \(QuantFormat.tableVersion)); fp4 = bitsandbytes' FP4 levels {0, 0.0625, 2, 3, 4, 6, 8, 12}/12, e2m1 = the OCP MX E2M1 grid {0, 0.5, 1, 1.5, 2, 3, 4, 6}/6, int4 = q/7; double_quant = block absmaxes quantized again to 8 bits in groups of 256 (QLoRA §3); targets: base = W0, finetuned = W_base + ΔW (W_base = W0_q = deq(Q(W0)) for qlora sequential/per-task, else W0), delta = ΔW; p50/p90 by linear interpolation.",
            "qlora_vs_lora: qlora paired with the lora cell of the same seed, protocol and task count (if several: the one whose configuration equals qlora's without bnb_4bit_* keys); forgetting = Avalanche first − last, mean over tasks j < T of R[j][j] − R[T][j]; skill_drop = R[0][s] − R[T][s]; difference = qlora − lora; R is each column's own metric as a score (−NLL where lower is better, so a positive skill_drop is always a loss); mean rows: std is the sample std (n − 1) over seeds.",
            "nf4_merge: before = W_base + ΔW at every linear matrix (what the cell computed with), after = deq(Q(before)) (a 4-bit merge; qlora: the cell's quant type/double quant, lora: nf4 + double quant; blocksize \(blocksize)); every accuracy-like value is the column's own metric as a score (exact match, probe accuracy, −NLL for running text); stored_mismatch = max |before − stored| of those scores; error_over_delta = ‖W' − W‖_F/‖ΔW‖_F, error_over_weight = ‖W' − W‖_F/‖W‖_F over all linear matrices; delta_below_half_step = fraction of ΔW entries smaller than half the local quantization step; --matrix does not apply (a 4-bit merge quantizes every matrix); per-task cells: skills and the new task only.",
        ]
    }

    // MARK: Part 1

    static let errorColumns: [TidyTable.Column] = [
        .init("seed", "seed of the base model"),
        .init("method", "method of the cell (base for W0)"),
        .init("label", "configuration label (base for W0)"),
        .init("protocol", "fine-tuning protocol (empty for W0)"),
        .init("stage", "after task t (0 for W0)"),
        .init("task", "task trained at this stage (empty for W0)"),
        .init("target", "base = W0, finetuned = W_base + ΔW, delta = ΔW"),
        .init("matrix", "parameter name"),
        .init("format", "nf4 or fp4 (bitsandbytes' formats), e2m1 (OCP MX grid) or int4 (absmax)"),
        .init("double_quant", "1 when block absmaxes are quantized to 8 bits"),
        .init("blocksize", "values per quantization block"),
        .init("elements", "values in the matrix"),
        .init("mse", "mean of (w − deq(Q(w)))²"),
        .init("relative_frobenius", "‖W − deq(Q(W))‖_F / ‖W‖_F"),
        .init("block_max_abs_mean", "mean over blocks of the block's max |w − deq(Q(w))|"),
        .init("block_max_abs_p50", "median of the per-block max abs error"),
        .init("block_max_abs_p90", "90th percentile of the per-block max abs error"),
        .init("block_max_abs_max", "max abs error over the matrix"),
        .init("bits_per_parameter", "stored bits per value (codes + block constants)"),
    ]

    static func errorTable(_ results: StudyResults, cells: [StudyResults.Cell], filter: AnalysisFilter,
                           blocksize: Int, notes: inout [String]) throws -> TidyTable {
        var table = TidyTable(name: "nf4_error", summary: "one row per seed, cell/stage (or base), matrix, target, format and double_quant", columns: errorColumns)
        let linear = try results.linearSites().map(\.weightName).filter(filter.selects(matrix:))
        func add(_ tensors: [(name: String, tensor: Tensor)], prefix: [TidyTable.Value], target: String) {
            let finite = tensors.filter { $0.tensor.storage.allSatisfy(\.isFinite) }
            for skipped in tensors.filter({ !$0.tensor.storage.allSatisfy(\.isFinite) }) {
                notes.append("nf4_error: \(target) \(skipped.name) of \(prefix.map(\.description).joined(separator: "/")) has non-finite values, skipped")
            }
            for m in NF4ErrorMeasurement.measure(finite, blocksize: blocksize) {
                table.append(prefix + [
                    .text(target), .text(m.name), .text(m.format.rawValue), .integer(m.doubleQuant ? 1 : 0), .integer(m.blocksize),
                    .integer(m.elements), .number(m.mse), .number(m.relativeFrobenius), .number(m.blockMaxMean),
                    .number(m.blockMaxP50), .number(m.blockMaxP90), .number(m.blockMaxMax), .number(m.bitsPerParameter),
                ])
            }
        }
        let seeds = results.seeds.filter { seed in cells.contains { $0.seed == seed } }
        for seed in seeds {
            let tensors = try linear.map { (name: $0, tensor: try results.baseWeight(seed: seed, name: $0)) }
            add(tensors, prefix: [.integer(seed), .text("base"), .text("base"), .text(""), .integer(0), .text("")], target: targets.base)
        }
        for cell in cells {
            var bases: [String: Tensor]?
            for stage in stages(of: cell, results: results, filter: filter) {
                let names = try results.deltaNames(cell, afterTask: stage).filter(filter.selects(matrix:))
                guard !names.isEmpty else { continue }
                if bases == nil {
                    bases = Dictionary(uniqueKeysWithValues: try NF4MergeEvaluation.baseWeights(results, cell: cell).map { ($0.name, $0.tensor) })
                }
                let deltas = try names.map { (name: $0, tensor: try results.delta(cell, afterTask: stage, name: $0)) }
                let prefix: [TidyTable.Value] = [.integer(cell.seed), .text(cell.method), .text(cell.label), .text(cell.fineTuningProtocol.rawValue),
                                                 .integer(stage), .text(results.taskNames[stage - 1])]
                // Linear sites have a stored base; any other ΔW (none today) is measured alone.
                let finetuned = deltas.compactMap { d in bases?[d.name].map { (name: d.name, tensor: $0 + d.tensor) } }
                add(finetuned, prefix: prefix, target: targets.finetuned)
                add(deltas, prefix: prefix, target: targets.delta)
            }
        }
        return table
    }

    /// Stages 1…T of `cell` whose task the filter selects.
    static func stages(of cell: StudyResults.Cell, results: StudyResults, filter: AnalysisFilter) -> [Int] {
        guard cell.taskCount >= 1 else { return [] }
        return (1...cell.taskCount).filter { filter.selects(task: results.taskNames[$0 - 1]) }
    }

    /// Mean over rows of `nf4_error` per target × method × format × double_quant.
    static func summaryTable(_ errors: TidyTable) -> TidyTable {
        let keys = ["target", "method", "format", "double_quant"]
        let measures = ["mse", "relative_frobenius", "block_max_abs_mean", "block_max_abs_max", "bits_per_parameter"]
        var table = TidyTable(
            name: "nf4_error_summary", summary: "one row per target × method × format × double_quant: means over matrices (and seeds, cells, stages) of nf4_error",
            columns: keys.map { key in errorColumns.first { $0.name == key }! } + [.init("matrices", "rows of nf4_error averaged")]
                + measures.map { m in .init(m, "mean of nf4_error." + m) })
        let keyIndex = keys.map { errors.columnIndex($0)! }, measureIndex = measures.map { errors.columnIndex($0)! }
        var order: [[TidyTable.Value]] = []
        var groups: [String: [[TidyTable.Value]]] = [:]
        func name(_ key: [TidyTable.Value]) -> String { key.map(\.description).joined(separator: "\u{1F}") }
        for row in errors.rows {
            let key = keyIndex.map { row[$0] }
            if groups[name(key)] == nil { order.append(key) }
            groups[name(key), default: []].append(row)
        }
        for key in order {
            let rows = groups[name(key)]!
            let means = measureIndex.map { c -> TidyTable.Value in
                let xs = rows.compactMap { if case .number(let x) = $0[c] { return x } else { return nil } }
                return .number(xs.reduce(0, +) / Double(xs.count))
            }
            table.append(key + [.integer(rows.count)] + means)
        }
        return table
    }
}
