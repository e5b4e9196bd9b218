import Analysis
import Foundation
import PEFTEngine

/// `workbench subspace`: where in weight space each method's update ΔW lives.
///
/// For every selected cell with stored ΔW (methods with a weight-space form) and every selected
/// matrix, per seed and stage (after task t):
/// 1. `subspace_similarity` — φ(A, B, i, j) of Hu et al. (2021, §7.2) between the left singular
///    subspaces of the ΔW of two configurations (same seed, stage, matrix) and of one
///    configuration under two seeds;
/// 2. `task_interference` — principal angles and φ(r, r) between the updates of successive tasks;
/// 3. `amplification` — ‖ΔW‖_F / ‖UᵀW₀V‖_F and its references (Hu et al. 2021, §7.3);
/// 4. `intruder_dimensions` — singular directions of W₀ + ΔW absent from W₀ (Shuttleworth et al. 2024);
/// and `subspace_summary`, the mean ± std across seeds per configuration of the headline measures.
///
/// Each ΔW and each task increment is decomposed once per (cell, stage, matrix), W₀ once per
/// (seed, matrix) (`SubspaceFactors`); the work runs one matrix at a time, so memory holds the
/// factors of one matrix name only.
public enum SubspaceAnalysis {
    /// The options that change the numbers (stored with the filter as the cache key).
    public struct Options: Sendable, Equatable, Codable {
        /// r for the amplification of configurations without an `r` (e.g. full fine-tuning).
        public var rank: Int
        /// r for the principal angles between successive tasks' updates.
        public var interferenceRank: Int
        /// k: leading singular vectors of W₀ + ΔW tested as intruders.
        public var intruderK: Int
        /// ε: the intruder cosine threshold; nil (the default) chooses it per matrix from the
        /// null (`automaticEpsilon`), so that the count carries signal at the model's width.
        public var epsilon: Double?
        /// Random unit vectors for the intruder null.
        public var nullSamples: Int
        /// Random subspace pairs averaged for the amplification reference.
        public var randomDraws: Int

        public init(rank: Int = 8, interferenceRank: Int = 4, intruderK: Int = 10, epsilon: Double? = nil,
                    nullSamples: Int = 200, randomDraws: Int = 10) {
            self.rank = rank; self.interferenceRank = interferenceRank; self.intruderK = intruderK
            self.epsilon = epsilon; self.nullSamples = nullSamples; self.randomDraws = randomDraws
        }

        /// Rejects values the measures cannot use.
        public func validate() throws {
            func positive(_ name: String, _ value: Int) throws {
                if value < 1 { throw AnalysisError.invalidOption(name: name, value: String(value), reason: "must be ≥ 1") }
            }
            try positive("rank", rank)
            try positive("interference-rank", interferenceRank)
            try positive("intruder-k", intruderK)
            try positive("null-samples", nullSamples)
            try positive("random-draws", randomDraws)
            if let epsilon, !(epsilon > 0 && epsilon <= 1) {
                throw AnalysisError.invalidOption(name: "epsilon", value: String(epsilon), reason: "must lie in (0, 1]")
            }
        }

        /// Canonical JSON (sorted keys).
        public var description: String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
        }
    }

    /// The (i, i) points reported from each φ grid (those ≤ min(r_A, r_B)).
    public static let phiDiagonal = [1, 2, 4, 8]

    public static let notes = [
        "Stage t = after task t. Stored ΔW: cumulative since the base for sequential and merge, the task's own update for per-task (docs/hdf5-layout.md); similarity compares ΔW as stored.",
        "φ(A,B,i,j) = ‖U_Aⁱᵀ U_Bʲ‖²_F / min(i,j) on left singular vectors of ΔW (Hu et al. 2021, §7.2). r_A, r_B = number of σ > 1e-4·σ₁, capped at 64; grid_mean = mean φ over i ≤ r_A, j ≤ r_B. phi_random = max(i,j)/m, the expectation for random subspaces.",
        "Across seeds: each seed has its own base model, so seed pairs compare updates of different W₀ (the paper's seeds share one).",
        "Interference: increments ΔW_t − ΔW_{t−1} (sequential, merge) or ΔW_t (per-task); principal angles between top-r left singular subspaces of tasks t−1 and t, r = min(--interference-rank, both subspace ranks).",
        "Amplification (Hu et al. 2021, §7.3): ‖ΔW‖_F / ‖UᵀW₀V‖_F with U, V the top-r singular vectors of ΔW; r = the configuration's `r`, else --rank; references: W₀'s own top-r (√Σσᵢ²) and random subspaces.",
        "Intruders (Shuttleworth et al. 2024): top-k left singular vectors of W₀+ΔW with max |cos| < ε against all of W₀'s. At small widths random directions score as intruders too: compare count/k with null_intruder_fraction (excess_intruder_fraction = count/k − null). ε: with --epsilon as given; by default per W₀ the largest ε in 0.05…0.95 at which at most 5 % of random unit vectors count as intruders (the epsilon column says which), so the null fraction stays ≤ 0.05 and the count carries signal.",
        "intruder_sweep: the same test at ε = 0.05, 0.10, …, 0.95, averaged over matrices, beside the null's fraction at each ε: the count carries signal only where intruder_fraction rises above null_max. At width m the null's max |cos| is about √(2 ln d / m), so a fixed ε = 0.5 flags every random direction at m ≲ 100.",
        "Summary: per seed, the mean over matrices at the last selected stage (interference: over matrices and task pairs), then mean ± sample std across seeds. phi_vs_other_seeds averages a seed's pairs with every other seed (with two seeds both share one pair, so std = 0).",
    ]

    /// The thresholds of the ε sweep (`intruder_sweep`): 0.05, 0.10, …, 0.95.
    public static let epsilonGrid: [Double] = (1...19).map { Double($0) / 20 }

    /// Share of random unit vectors the automatic ε lets count as intruders at most.
    public static let automaticNullFraction = 0.05

    /// The default ε for one W₀: the largest ε on `epsilonGrid` at which at most 5 % of the
    /// null's random unit vectors (their max |cos| in `nullMaxAbsCosines`) fall below it, so a
    /// count well above 5 % of k is signal. At width m the null's max |cos| sits near
    /// √(2 ln d / m): about 0.15 at m = 576 (SmolLM2), 0.4 at m = 64 — where the paper's
    /// ε = 0.5 would flag every random direction. The grid's first value when none qualifies.
    public static func automaticEpsilon(nullMaxAbsCosines: [Double]) -> Double {
        epsilonGrid.last { IntruderDimensions.fractionBelow(nullMaxAbsCosines, epsilon: $0) <= automaticNullFraction } ?? epsilonGrid[0]
    }

    /// Computes (or reads back) the tables for `filter` and `options`.
    ///
    /// - Throws: `AnalysisError.missing` when no selected cell stores ΔW (only prompt, prefix,
    ///   adapter or bitfit cells), `.nothingSelected` when the matrix or task filter leaves
    ///   nothing, `.invalidOption` for unusable options, `SVDError` for non-finite weights.
    public static func run(_ results: StudyResults, filter: AnalysisFilter, options: Options = Options(),
                           recompute: Bool = false) throws -> AnalysisReport {
        try options.validate()
        let (cells, leftOut) = try filter.cellsWithFiniteUpdates(of: results)
        let plan = try SubspacePlan(results, cells: cells, filter: filter)
        let parameters = "{\"filter\":\(filter.description),\"options\":\(options.description),\"tables\":2}"
        let skipped = plan.skippedLabels.isEmpty ? [] : ["Skipped, no weight-space ΔW: \(plan.skippedLabels.joined(separator: ", "))."]
        var report = try AnalysisRun.cachedOrComputed(results, analysis: "subspace", parameters: parameters,
                                                      recompute: recompute, notes: notes + skipped + leftOut) {
            try SubspaceTables.compute(results, plan: plan, options: options)
        }
        report.displayTables = display(report.tables)
        return report
    }

    /// The printed view: the summary as one row per configuration ("mean ± std" per measure),
    /// plus the interference table when it has at most `displayedInterferenceRows` rows.
    public static func display(_ tables: [TidyTable]) -> [TidyTable] {
        guard let summary = tables.first(where: { $0.name == "subspace_summary" }) else { return tables }
        let measures = SubspaceTables.summaryMeasures
        var wide = TidyTable(name: "subspace", summary: "mean ± std across seeds, per configuration",
                             columns: [.init("label", ""), .init("method", ""), .init("n", "")] + measures.map { .init($0, "") })
        let label = summary.values("label"), measure = summary.values("measure")
        let mean = summary.values("mean"), std = summary.values("std"), n = summary.values("n")
        var order: [String] = []
        for l in label where !order.contains(l.description) { order.append(l.description) }
        for l in order {
            let rows = summary.rows.indices.filter { label[$0].description == l }
            let seeds = rows.compactMap { if case .integer(let k) = n[$0] { k } else { nil } }.max() ?? 0
            var cells: [TidyTable.Value] = [.text(l), summary.rows[rows[0]][1], .integer(seeds)]
            for m in measures {
                if let i = rows.first(where: { measure[$0].description == m }) {
                    cells.append(.meanAndSpread(mean[i], std[i]))
                } else {
                    cells.append(.text("—"))
                }
            }
            wide.append(cells)
        }
        let interference = tables.filter { $0.name == "task_interference" && $0.rows.count <= displayedInterferenceRows }
        return [wide] + interference
    }

    /// The interference table is printed when it has at most this many rows.
    public static let displayedInterferenceRows = 24
}

/// What the analysis covers: the selected cells that store ΔW, the matrix names, the stages.
struct SubspacePlan {
    /// Cells with ΔW and the names of their stored ΔW matrices that pass the matrix filter.
    var cells: [(cell: StudyResults.Cell, matrices: [String])]
    /// Labels of selected cells without stored ΔW (prompt, prefix, adapter, bitfit), in cell order.
    var skippedLabels: [String] = []
    /// Union of the selected matrix names, in parameter order.
    var matrices: [String]
    /// Selected stages t (1-based), ascending.
    var stages: [Int]
    /// Task names by stage − 1.
    var taskNames: [String]
    var filter: AnalysisFilter

    init(_ results: StudyResults, cells selected: [StudyResults.Cell], filter: AnalysisFilter) throws {
        self.filter = filter
        taskNames = results.taskNames
        var withDelta: [(StudyResults.Cell, [String])] = []
        var allNames: [String] = []
        for cell in selected where cell.taskCount >= 1 {
            let names = try results.deltaNames(cell, afterTask: 1)
            guard !names.isEmpty else {
                if !skippedLabels.contains(cell.label) { skippedLabels.append(cell.label) }
                continue
            }
            withDelta.append((cell, names))
            for name in names where !allNames.contains(name) { allNames.append(name) }
        }
        guard !withDelta.isEmpty else {
            let methods = Array(Set(selected.map(\.method))).sorted().joined(separator: ", ")
            throw AnalysisError.missing(
                path: results.url.path, object: "stored ΔW (after_task*/delta) in any selected cell",
                hint: "the selected methods (\(methods)) have no weight-space form; prompt, prefix, adapter and bitfit store no ΔW")
        }
        matrices = allNames.filter(filter.selects(matrix:)).sorted(by: StudyResults.parameterOrder)
        guard !matrices.isEmpty else {
            throw AnalysisError.nothingSelected(
                path: results.url.path,
                filters: "--matrix \(filter.matrices.joined(separator: ", ")) (ΔW matrices in the file: \(allNames.joined(separator: ", ")))")
        }
        let selectedMatrices = Set(matrices)
        cells = withDelta.map { ($0.0, $0.1.filter(selectedMatrices.contains)) }
        let longest = cells.map(\.cell.taskCount).max() ?? 0
        let names = taskNames
        let stages = (1...max(longest, 1)).filter { $0 <= longest && $0 <= names.count && filter.selects(task: names[$0 - 1]) }
        self.stages = stages
        guard !stages.isEmpty else {
            throw AnalysisError.nothingSelected(path: results.url.path,
                                                filters: "--task \(filter.tasks.joined(separator: ", ")) (tasks: \(taskNames.joined(separator: ", ")))")
        }
    }

    /// The last selected stage a cell reached.
    func lastStage(of cell: StudyResults.Cell) -> Int? { stages.last { $0 <= cell.taskCount } }
}
