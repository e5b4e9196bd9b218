import Analysis
import Foundation
import PEFTEngine

/// `workbench spectrum`: the singular value spectrum and rank measures (Analysis' `RankSpectrum`)
/// of every stored weight update ΔW of the selected cells, of every task's own increment, and of
/// the base weights W0 they are added to.
///
/// Kinds of matrix (docs/hdf5-layout.md gives how ΔW is stored per protocol):
/// - `cumulative`: ΔW_t = W_t − W0, the whole change since the base after task t. Stored as such
///   for `sequential` and `merge`; not defined for `per-task` (every task starts from the base).
/// - `increment`: task t's own update. ΔW_t − ΔW_{t−1} with ΔW_0 = 0 for `sequential`/`merge`;
///   the stored ΔW_t for `per-task`.
/// - `base`: W0 of each seed, once per seed and matrix, under the label `base`.
///
/// With `topK` the spectrum is the top-k of a seeded randomized SVD (`RandomizedSVD.topK`) and
/// the energy measures refer to ‖A‖²_F of the whole matrix (`RankSpectrum`'s truncated mode).
public enum SpectrumAnalysis {
    public enum Kind: String, CaseIterable, Sendable {
        case base, cumulative, increment
    }

    /// One computed spectrum and how it was obtained.
    public struct Measured: Sendable, Equatable {
        public var spectrum: RankSpectrum
        /// `exact` (all singular values by LAPACK) or `randomized` (top-k sketch).
        public var mode: String
        /// ‖A − U_k S_k V_kᵀ‖_F / ‖A‖_F of the top-k factorisation; nil for the full exact spectrum.
        public var relativeResidual: Double?
    }

    /// Seed of the Gaussian test matrix of every randomized SVD, so results are reproducible.
    public static let randomizedSeed: UInt64 = 0
    /// Oversampling p of the randomized SVD (Halko et al. 2011 recommend 5–10).
    public static let randomizedOversampling = 10
    /// Subspace (power) iterations q of the randomized SVD.
    public static let randomizedPowerIterations = 2

    /// What the kinds of ΔW are.
    public static let kindsNote = "Kinds: cumulative = ΔW_t = W_t − W0 (sequential, merge; not defined for per-task); increment = task t's own update, ΔW_t − ΔW_{t−1} with ΔW_0 = 0 (sequential, merge) or the stored ΔW_t (per-task); base = W0 of the seed (label 'base', stage 0)."
    /// The definitions of the measures (σ, norms, ranks), shared with the checkpoint modes.
    public static let measureNotes = [
        "σ₁ ≥ σ₂ ≥ …: singular values. frobenius_norm = √Σσᵢ²; spectral_norm = σ₁.",
        "stable_rank = ‖A‖²_F / ‖A‖²₂ (Rudelson & Vershynin 2007); effective_rank = exp(−Σ pᵢ ln pᵢ), pᵢ = σᵢ/Σσⱼ (Roy & Vetterli 2007).",
        "energy_rank_f: smallest k with Σ_{i≤k} σᵢ² ≥ f·‖A‖²_F; numerical_rank: σᵢ > max(m, n)·ε·σ₁, ε = 2⁻²³ (numpy matrix_rank's float32 tolerance).",
    ]
    public static let loraRankNote = "lora_r: the configuration's r, when it has one — read energy_rank_90 of other methods' ΔW against it."
    /// Printed when the randomized SVD is used (`--top-k`).
    public static let topKNote = "--top-k K: randomized SVD (Halko, Martinsson & Tropp 2011; seed 0, oversampling 10, 2 power iterations); energy ranks use ‖A‖²_F of the whole matrix and are empty when the top K do not reach the fraction; effective_rank is over the top K only; numerical_rank is a lower bound."
    public static let summaryNote = "spectrum_summary: per seed, the mean over matrices; then mean ± sample standard deviation across seeds (n = seeds)."
    public static let notes = [kindsNote] + measureNotes + [loraRankNote, topKNote, summaryNote]

    public static func run(_ results: StudyResults, filter: AnalysisFilter, topK: Int? = nil,
                           recompute: Bool = false) throws -> AnalysisReport {
        if let topK, topK < 1 {
            throw AnalysisError.invalidOption(name: "top-k", value: String(topK), reason: "must be ≥ 1")
        }
        let (cells, leftOut) = try filter.cellsWithDelta(of: results)
        let parameters = "{\"filter\":\(filter.description),\"top_k\":\(topK.map(String.init) ?? "null")}"
        return try AnalysisRun.cachedOrComputed(results, analysis: "spectrum", parameters: parameters,
                                                recompute: recompute, notes: notes + leftOut) {
            try tables(results, cells: cells, filter: filter, topK: topK)
        }
    }

    /// The spectrum of `matrix`: every singular value by LAPACK, or with `topK` the top k of a
    /// randomized SVD with ‖A‖²_F as the total energy.
    public static func measure(_ matrix: Tensor, topK: Int?) throws -> Measured {
        guard let topK else {
            return Measured(spectrum: try RankSpectrum.of(matrix), mode: "exact", relativeResidual: nil)
        }
        let result = try RandomizedSVD.topK(matrix, k: topK, oversampling: randomizedOversampling,
                                            powerIterations: randomizedPowerIterations, seed: randomizedSeed)
        var given = 0.0
        for sigma in result.s { given += Double(sigma) * Double(sigma) }
        // Float32 rounding may put Σσ² of the top k a hair above ‖A‖²_F when k reaches min(m, n).
        let spectrum = RankSpectrum(singularValues: result.s, rows: matrix.rows, columns: matrix.columns,
                                    totalEnergy: Swift.max(result.frobeniusNormSquared, given))
        return Measured(spectrum: spectrum, mode: result.isExact ? "exact" : "randomized",
                        relativeResidual: result.residualFrobeniusRelative)
    }

    /// a − b elementwise (same shape): a task's own update from two cumulative ΔW.
    static func difference(_ a: Tensor, _ b: Tensor, name: String) -> Tensor {
        precondition(a.shape == b.shape, "SpectrumAnalysis: ΔW of \(name) changes shape \(b.shape) → \(a.shape) between tasks")
        var out = a.storage
        b.storage.withUnsafeBufferPointer { bp in
            out.withUnsafeMutableBufferPointer { op in
                for i in 0..<op.count { op[i] -= bp[i] }
            }
        }
        return Tensor(shape: a.shape, storage: out)
    }

    static let keyColumns: [TidyTable.Column] = [
        .init("label", "configuration label ('base' for W0)"), .init("method", "fine-tuning method ('base' for W0)"),
        .init("protocol", "sequential, per-task or merge ('' for W0)"), .init("seed", "seed"),
        .init("stage", "task index t from 1 (0 for W0)"), .init("task", "task trained at stage t ('' for W0)"),
        .init("matrix", "weight name, e.g. blocks.0.attn.q.weight"), .init("kind", "base, cumulative or increment"),
    ]

    static let measureNames = [
        "rows", "columns", "frobenius_norm", "spectral_norm", "stable_rank", "effective_rank",
        "energy_rank_50", "energy_rank_90", "energy_rank_99", "numerical_rank", "lora_r",
    ]

    /// Accumulates the per-matrix rows of the three row-level tables.
    struct Builder {
        var wide = TidyTable(name: "spectrum", summary: "one row per label × seed × stage × matrix × kind", columns: keyColumns + [
            .init("rows", "m"), .init("columns", "n"), .init("frobenius_norm", "‖A‖_F"), .init("spectral_norm", "σ₁"),
            .init("stable_rank", "‖A‖²_F / σ₁² (Rudelson & Vershynin)"), .init("effective_rank", "exp of the entropy of σ/Σσ (Roy & Vetterli)"),
            .init("energy_rank_50", "components holding 50 % of ‖A‖²_F"), .init("energy_rank_90", "components holding 90 % of ‖A‖²_F"),
            .init("energy_rank_99", "components holding 99 % of ‖A‖²_F"), .init("numerical_rank", "σᵢ > max(m, n)·ε·σ₁"),
            .init("lora_r", "the configuration's r; empty without one"),
            .init("svd_mode", "exact or randomized"), .init("svd_relative_residual", "‖A − U_k S_k V_kᵀ‖_F / ‖A‖_F with --top-k; empty otherwise"),
        ])
        var long = TidyTable(name: "spectrum_measures", summary: "one row per label × seed × stage × matrix × kind × measure",
                             columns: keyColumns + [.init("measure", measureNames.joined(separator: ", ")), .init("value", "its value")])
        var values = TidyTable(name: "singular_values", summary: "one row per singular value", columns: keyColumns + [
            .init("index", "i from 1, descending σ"), .init("sigma", "σᵢ"),
            .init("energy_cumulative", "Σ_{j≤i} σⱼ² / ‖A‖²_F"),
        ])

        mutating func add(_ keys: [TidyTable.Value], _ measured: Measured, loraR: Int?) {
            let s = measured.spectrum
            let measures: [TidyTable.Value] = [
                .integer(s.rows), .integer(s.columns), .number(s.frobeniusNormSquared.squareRoot()), .number(s.spectralNorm),
                .number(s.stableRank), .number(s.effectiveRank), integer(s.energyRank50), integer(s.energyRank90),
                integer(s.energyRank99), .integer(s.numericalRank), integer(loraR),
            ]
            wide.append(keys + measures + [.text(measured.mode), measured.relativeResidual.map { .number($0) } ?? .missing])
            for (name, value) in zip(SpectrumAnalysis.measureNames, measures) {
                long.append(keys + [.text(name), value])
            }
            var cumulative = 0.0
            for (i, sigma) in s.singularValues.enumerated() {
                cumulative += Double(sigma) * Double(sigma)
                let fraction: TidyTable.Value = s.frobeniusNormSquared > 0 ? .number(cumulative / s.frobeniusNormSquared) : .missing
                values.append(keys + [.integer(i + 1), .number(Double(sigma)), fraction])
            }
        }

        func integer(_ x: Int?) -> TidyTable.Value { x.map { .integer($0) } ?? .missing }
    }

    /// Per-seed means over matrices of one (label, method, kind, stage) group.
    struct Group {
        var label: String, method: String, kind: Kind, stage: Int, task: String
        /// seed → per-matrix (energy_rank_90, stable_rank, effective_rank).
        var perSeed: [(seed: Int, values: [(Double?, Double, Double)])] = []

        mutating func add(seed: Int, _ s: RankSpectrum) {
            let entry = (s.energyRank90.map(Double.init), s.stableRank, s.effectiveRank)
            if let i = perSeed.firstIndex(where: { $0.seed == seed }) { perSeed[i].values.append(entry) }
            else { perSeed.append((seed, [entry])) }
        }
    }

    static func tables(_ results: StudyResults, cells: [StudyResults.Cell], filter: AnalysisFilter, topK: Int?) throws -> [TidyTable] {
        var builder = Builder()
        var groups: [Group] = []
        var spectrumOnly = Set<String>()
        func record(_ keys: [TidyTable.Value], label: String, method: String, kind: Kind, stage: Int, task: String,
                    seed: Int, _ measured: Measured, loraR: Int?) {
            builder.add(keys, measured, loraR: loraR)
            if let i = groups.firstIndex(where: { $0.label == label && $0.method == method && $0.kind == kind && $0.stage == stage }) {
                groups[i].add(seed: seed, measured.spectrum)
            } else {
                var g = Group(label: label, method: method, kind: kind, stage: stage, task: task)
                g.add(seed: seed, measured.spectrum)
                groups.append(g)
            }
        }

        // W0 of every seed, for the matrices that carry a ΔW in the selected cells.
        var seeds: [Int] = []
        var deltaMatrices: [Int: Set<String>] = [:]
        for cell in cells where cell.taskCount >= 1 {
            let names = try results.deltaNames(cell, afterTask: 1).filter { filter.selects(matrix: $0) }
            if names.isEmpty { continue }
            if !seeds.contains(cell.seed) { seeds.append(cell.seed) }
            deltaMatrices[cell.seed, default: []].formUnion(names)
        }
        for seed in seeds {
            let wanted = deltaMatrices[seed] ?? []
            for name in try results.baseWeightNames(seed: seed) where wanted.contains(name) {
                let measured = try measure(try results.baseWeight(seed: seed, name: name), topK: topK)
                let keys: [TidyTable.Value] = [.text("base"), .text("base"), .text(""), .integer(seed), .integer(0),
                                               .text(""), .text(name), .text(Kind.base.rawValue)]
                record(keys, label: "base", method: "base", kind: .base, stage: 0, task: "", seed: seed, measured, loraR: nil)
            }
        }

        for cell in cells where cell.taskCount >= 1 {
            let loraR = cell.rank
            let perTask = cell.fineTuningProtocol == .perTask
            for t in 1...cell.taskCount {
                let task = t <= results.taskNames.count ? results.taskNames[t - 1] : "task\(t)"
                guard filter.selects(task: task) else { continue }
                for name in try results.deltaNames(cell, afterTask: t) where filter.selects(matrix: name) {
                    func keys(_ kind: Kind) -> [TidyTable.Value] {
                        [.text(cell.label), .text(cell.method), .text(cell.fineTuningProtocol.rawValue), .integer(cell.seed),
                         .integer(t), .text(task), .text(name), .text(kind.rawValue)]
                    }
                    // Stored as a spectrum: every singular value is there, but not ΔW itself, so a
                    // sequential cell's increments (ΔW_t − ΔW_{t−1}) cannot be formed.
                    if let s = try results.storedSpectrum(cell, afterTask: t, name: name) {
                        let measured = Measured(spectrum: RankSpectrum(singularValues: s.singularValues, rows: s.rows, columns: s.columns),
                                                mode: "stored", relativeResidual: nil)
                        let kind: Kind = perTask ? .increment : .cumulative
                        record(keys(kind), label: cell.label, method: cell.method, kind: kind, stage: t,
                               task: task, seed: cell.seed, measured, loraR: loraR)
                        if !perTask { spectrumOnly.insert("\(cell.label)/seed\(cell.seed)") }
                        continue
                    }
                    let stored = try results.delta(cell, afterTask: t, name: name)
                    let increment: Tensor
                    if perTask {
                        increment = stored
                    } else {
                        let cumulative = try measure(stored, topK: topK)
                        record(keys(.cumulative), label: cell.label, method: cell.method, kind: .cumulative, stage: t,
                               task: task, seed: cell.seed, cumulative, loraR: loraR)
                        increment = t == 1 ? stored : difference(stored, try results.delta(cell, afterTask: t - 1, name: name), name: name)
                    }
                    record(keys(.increment), label: cell.label, method: cell.method, kind: .increment, stage: t,
                           task: task, seed: cell.seed, try measure(increment, topK: topK), loraR: loraR)
                }
            }
        }

        var summary = TidyTable(name: "spectrum_summary", summary: "one row per label × kind × stage: per-seed mean over matrices, then mean ± std across seeds", columns: [
            .init("label", "configuration label"), .init("method", "fine-tuning method"), .init("kind", "base, cumulative or increment"),
            .init("stage", "task index t (0 for W0)"), .init("task", "task trained at stage t"),
            .init("energy_rank_90_mean", "mean across seeds of the mean over matrices; seeds where a matrix's top k do not reach 90 % are left out (empty when all are)"),
            .init("energy_rank_90_std", "sample standard deviation across seeds"),
            .init("stable_rank_mean", "mean across seeds of the mean over matrices"), .init("stable_rank_std", "sample standard deviation across seeds"),
            .init("effective_rank_mean", "mean across seeds of the mean over matrices"), .init("effective_rank_std", "sample standard deviation across seeds"),
            .init("n", "seeds"),
        ])
        if !spectrumOnly.isEmpty {
            summary.summary += "; no increment rows for \(spectrumOnly.sorted().joined(separator: ", ")): stored as `store: {delta: spectrum}` (σ only); `dense`, `bfloat16` or `factors` keep ΔW itself"
        }
        for g in groups {
            func spread(_ pick: ([(Double?, Double, Double)]) -> Double?) -> [TidyTable.Value] {
                let perSeed = g.perSeed.compactMap { pick($0.values) }
                guard !perSeed.isEmpty else { return [.missing, .missing] }
                let s = SeedSpread(perSeed)
                return [.number(s.mean), .spread(s)]
            }
            func mean(_ xs: [Double]) -> Double? { xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count) }
            summary.append([.text(g.label), .text(g.method), .text(g.kind.rawValue), .integer(g.stage), .text(g.task)]
                + spread { values in
                    let ranks = values.compactMap(\.0)
                    return ranks.count == values.count ? mean(ranks) : nil
                } + spread { mean($0.map(\.1)) } + spread { mean($0.map(\.2)) }
                + [.integer(g.perSeed.count)])
        }
        return [summary, builder.wide, builder.long, builder.values]
    }

    /// The printed view: the summary only (the per-matrix tables are long).
    public static func display(_ tables: [TidyTable]) -> [TidyTable] {
        tables.filter { $0.name == "spectrum_summary" }
    }
}
