import Analysis
import Foundation
import PEFTEngine

/// Builds the tables of `SubspaceAnalysis` from a `SubspacePlan`, one matrix name at a time.
enum SubspaceTables {
    /// Measures of `subspace_summary`, in display order.
    static let summaryMeasures = [
        "amplification", "intruder_count", "intruder_energy_share", "null_intruder_fraction",
        "excess_intruder_fraction", "phi_vs_other_seeds", "interference_phi", "interference_mean_angle_deg",
    ]

    typealias Value = TidyTable.Value

    static func compute(_ results: StudyResults, plan: SubspacePlan, options: SubspaceAnalysis.Options) throws -> [TidyTable] {
        var similarity = TidyTable(name: "subspace_similarity", summary: "one row per pair of ΔW (configurations of one seed, or seeds of one configuration) × stage × matrix × statistic", columns: [
            .init("label_a", "configuration A"), .init("label_b", "configuration B (= A for a seed pair)"),
            .init("seed_a", "seed of A"), .init("seed_b", "seed of B"), .init("stage", "t: after task t"), .init("task", "task t's name"),
            .init("matrix", "weight matrix"),
            .init("statistic", "phi: φ(i, j) at i = j; grid_mean: mean φ over i ≤ r_A, j ≤ r_B (i = r_A, j = r_B)"),
            .init("i", "leading singular vectors of A"), .init("j", "leading singular vectors of B"),
            .init("phi", "‖U_Aⁱᵀ U_Bʲ‖²_F / min(i, j)"), .init("phi_random", "the same for random subspaces: max(i, j)/m"),
        ])
        var interference = TidyTable(name: "task_interference", summary: "one row per cell × matrix × pair of successive tasks", columns: [
            .init("label", "configuration label"), .init("method", "fine-tuning method"), .init("protocol", "sequential, per-task or merge"),
            .init("seed", "seed"), .init("matrix", "weight matrix"), .init("task_a", "task t − 1"), .init("task_b", "task t"),
            .init("r", "subspace dimension compared"),
            .init("angle_min_deg", "smallest principal angle (degrees)"), .init("angle_mean_deg", "mean principal angle (degrees)"),
            .init("angle_max_deg", "largest principal angle (degrees)"), .init("phi", "φ(r, r) = Σ cos²θ / r"),
            .init("phi_random", "r/m, φ(r, r) of random subspaces"),
        ])
        var amplification = TidyTable(name: "amplification", summary: "one row per cell × stage × matrix", columns: [
            .init("label", "configuration label"), .init("method", "fine-tuning method"), .init("seed", "seed"),
            .init("stage", "t: after task t"), .init("task", "task t's name"), .init("matrix", "weight matrix"),
            .init("r", "singular directions of ΔW used"), .init("r_source", "configuration (its `r`) or option (--rank)"),
            .init("delta_norm", "‖ΔW‖_F"), .init("projected_norm", "‖UᵀW₀V‖_F, U, V top-r singular vectors of ΔW"),
            .init("amplification", "‖ΔW‖_F / ‖UᵀW₀V‖_F"),
            .init("w0_top_projection", "‖U₀ᵀW₀V₀‖_F for W₀'s own top-r directions"),
            .init("random_projection", "mean ‖UᵀW₀V‖_F for random r-dimensional subspaces"),
        ])
        var intruders = TidyTable(name: "intruder_dimensions", summary: "one row per cell × stage × matrix", columns: [
            .init("label", "configuration label"), .init("method", "fine-tuning method"), .init("seed", "seed"),
            .init("stage", "t: after task t"), .init("task", "task t's name"), .init("matrix", "weight matrix"),
            .init("k", "leading singular vectors of W₀ + ΔW tested"), .init("epsilon", "cosine threshold ε (by default chosen per W₀: the largest ε at which ≤ 5 % of random unit vectors count)"),
            .init("count", "intruders: max |cos| with every singular vector of W₀ below ε"),
            .init("energy_share", "their share of Σ_{i<k} σᵢ²(W₀ + ΔW)"),
            .init("mean_max_cos", "mean over the k vectors of their max |cos|"),
            .init("null_intruder_fraction", "fraction of random unit vectors that would count as intruders"),
            .init("null_mean_max_cos", "mean max |cos| of random unit vectors"),
            .init("excess_intruder_fraction", "count/k − null_intruder_fraction"),
        ])

        var sweep = TidyTable(name: "intruder_sweep", summary: "one row per cell × stage × ε: the intruder test over a grid of thresholds, against its null", columns: [
            .init("label", "configuration label"), .init("method", "fine-tuning method"), .init("seed", "seed"),
            .init("stage", "t: after task t"), .init("task", "task t's name"), .init("epsilon", "cosine threshold ε"),
            .init("matrices", "matrices averaged"), .init("k", "leading singular vectors of W₀ + ΔW tested per matrix (the largest)"),
            .init("intruder_fraction", "mean over matrices of intruders/k at this ε"),
            .init("null_intruder_fraction", "mean over matrices of the fraction of random unit vectors below ε"),
            .init("null_min", "smallest null fraction over the matrices"), .init("null_max", "largest null fraction over the matrices"),
            .init("excess_intruder_fraction", "intruder_fraction − null_intruder_fraction"),
        ])
        // (cell path, stage) → ε index → per matrix (intruder fraction, null fraction), and k.
        var sweepSums: [String: (cell: StudyResults.Cell, t: Int, stage: String, k: Int, values: [[(Double, Double)]])] = [:]
        var sweepOrder: [String] = []

        // Per label, per seed, per summary measure: the values to average (last stage; all pairs for interference).
        var perSeed: [String: [Int: [String: [Double]]]] = [:]
        func record(_ cell: StudyResults.Cell, _ measure: String, _ x: Double) {
            if x.isFinite { perSeed[cell.label, default: [:]][cell.seed, default: [:]][measure, default: []].append(x) }
        }

        for matrix in plan.matrices {
            let cells = plan.cells.filter { $0.matrices.contains(matrix) }.map(\.cell)
            var bases: [Int: SeedBase] = [:]
            // A pretrained base is the same W₀ for every seed: decomposed once.
            var shared: (w0: Tensor, factors: SubspaceFactors)?
            func base(_ seed: Int) throws -> SeedBase {
                if let cached = bases[seed] { return cached }
                let w0: Tensor, factors: SubspaceFactors
                if let shared {
                    (w0, factors) = shared
                } else {
                    w0 = try results.baseWeight(seed: seed, name: matrix)
                    factors = try SubspaceFactors(w0)
                    if results.study.base.pretrained != nil { shared = (w0, factors) }
                }
                let draws = IntruderDimensions.nullMaxAbsCosines(baseLeftVectors: factors.u, samples: options.nullSamples, seed: UInt64(seed))
                let base = SeedBase(w0: w0, factors: factors, nullMaxAbsCosines: draws,
                                    epsilon: options.epsilon ?? SubspaceAnalysis.automaticEpsilon(nullMaxAbsCosines: draws))
                bases[seed] = base
                return base
            }
            // ΔW factors of this matrix, keyed by cell path and stage: each decomposed once.
            var deltas: [String: (delta: Tensor, factors: SubspaceFactors)] = [:]
            func delta(_ cell: StudyResults.Cell, _ t: Int) throws -> (delta: Tensor, factors: SubspaceFactors) {
                let key = "\(cell.path)#\(t)"
                if let cached = deltas[key] { return cached }
                let d = try results.delta(cell, afterTask: t, name: matrix)
                let entry = (d, try SubspaceFactors(d))
                deltas[key] = entry
                return entry
            }

            for t in plan.stages {
                let stage = plan.taskNames[t - 1]
                let present = cells.filter { t <= $0.taskCount }
                for cell in present {
                    let (d, f) = try delta(cell, t)
                    let b = try base(cell.seed)
                    let head: [Value] = [.text(cell.label), .text(cell.method), .integer(cell.seed), .integer(t), .text(stage), .text(matrix)]
                    let isLast = plan.lastStage(of: cell) == t

                    let (r, source) = amplificationRank(cell, options: options, limit: min(d.shape[0], d.shape[1]))
                    let a = try SubspaceMeasures.amplification(base: b.w0, baseFactors: b.factors, update: f, rank: r,
                                                               randomDraws: options.randomDraws, seed: UInt64(cell.seed))
                    amplification.append(head + [
                        .integer(r), .text(source), .number(a.updateNorm), .number(a.projectedBaseNorm), .number(a.amplification),
                        .number(a.projectedBaseNormOnOwnTopSubspace), .number(a.projectedBaseNormOnRandomSubspaces),
                    ])

                    let k = min(options.intruderK, d.shape[0], d.shape[1])
                    let found = try SubspaceMeasures.intruders(baseFactors: b.factors, tuned: b.w0 + d, k: k, epsilon: b.epsilon)
                    let excess = Double(found.count) / Double(k) - b.nullIntruderFraction
                    let sweepKey = "\(cell.path)#\(t)"
                    if sweepSums[sweepKey] == nil {
                        sweepSums[sweepKey] = (cell, t, stage, k, Array(repeating: [], count: SubspaceAnalysis.epsilonGrid.count))
                        sweepOrder.append(sweepKey)
                    }
                    sweepSums[sweepKey]!.k = max(sweepSums[sweepKey]!.k, k)
                    for (e, epsilon) in SubspaceAnalysis.epsilonGrid.enumerated() {
                        sweepSums[sweepKey]!.values[e].append((IntruderDimensions.fractionBelow(found.maxAbsCosine, epsilon: epsilon),
                                                               IntruderDimensions.fractionBelow(b.nullMaxAbsCosines, epsilon: epsilon)))
                    }
                    intruders.append(head + [
                        .integer(k), .number(b.epsilon), .integer(found.count), .number(found.energyShare),
                        .number(found.maxAbsCosine.reduce(0, +) / Double(k)),
                        .number(b.nullIntruderFraction), .number(b.nullMeanMaxAbsCosine), .number(excess),
                    ])
                    if isLast {
                        record(cell, "amplification", a.amplification)
                        record(cell, "intruder_count", Double(found.count))
                        record(cell, "intruder_energy_share", found.energyShare)
                        record(cell, "null_intruder_fraction", b.nullIntruderFraction)
                        record(cell, "excess_intruder_fraction", excess)
                    }
                }

                for x in present.indices {
                    for y in present.indices where y > x {
                        let a = present[x], b = present[y]
                        let configurationPair = a.seed == b.seed && a.label != b.label
                        let seedPair = a.label == b.label && a.seed != b.seed
                        guard configurationPair || seedPair else { continue }
                        guard let grid = SubspaceMeasures.similarity(try delta(a, t).factors, try delta(b, t).factors) else { continue }
                        let m = try delta(a, t).delta.shape[0]
                        let head: [Value] = [.text(a.label), .text(b.label), .integer(a.seed), .integer(b.seed), .integer(t), .text(stage), .text(matrix)]
                        for i in SubspaceAnalysis.phiDiagonal where i <= min(grid.rankA, grid.rankB) {
                            similarity.append(head + [.text("phi"), .integer(i), .integer(i), .number(grid[i, i]),
                                                      .number(SubspaceMeasures.randomPhi(i: i, j: i, dimension: m))])
                        }
                        let mean = SubspaceMeasures.gridMean(grid)
                        similarity.append(head + [
                            .text("grid_mean"), .integer(grid.rankA), .integer(grid.rankB), .number(mean),
                            .number(SubspaceMeasures.randomPhiGridMean(rankA: grid.rankA, rankB: grid.rankB, dimension: m)),
                        ])
                        if seedPair && plan.lastStage(of: a) == t {
                            record(a, "phi_vs_other_seeds", mean)
                            record(b, "phi_vs_other_seeds", mean)
                        }
                    }
                }
            }

            for cell in cells where cell.taskCount >= 2 {
                var previousDelta: Tensor?
                var previousIncrement: SubspaceFactors?
                for t in 1...cell.taskCount {
                    let current = try delta(cell, t)
                    let increment: SubspaceFactors
                    if cell.fineTuningProtocol == .perTask || previousDelta == nil {
                        increment = current.factors
                    } else {
                        increment = try SubspaceFactors(SubspaceMeasures.increment(
                            cumulative: cell.fineTuningProtocol != .perTask, current: current.delta, previous: previousDelta))
                    }
                    if t >= 2, let previous = previousIncrement, plan.filter.selects(task: plan.taskNames[t - 1]),
                       let overlap = try SubspaceMeasures.interference(previous, increment, rank: options.interferenceRank) {
                        let degrees = overlap.angles.map { $0 * 180 / Double.pi }
                        let meanAngle = degrees.reduce(0, +) / Double(degrees.count)
                        interference.append([
                            .text(cell.label), .text(cell.method), .text(cell.fineTuningProtocol.rawValue), .integer(cell.seed), .text(matrix),
                            .text(plan.taskNames[t - 2]), .text(plan.taskNames[t - 1]), .integer(overlap.rank),
                            .number(degrees.first!), .number(meanAngle), .number(degrees.last!), .number(overlap.phi),
                            .number(Double(overlap.rank) / Double(increment.rows)),
                        ])
                        record(cell, "interference_phi", overlap.phi)
                        record(cell, "interference_mean_angle_deg", meanAngle)
                    }
                    previousDelta = current.delta
                    previousIncrement = increment
                }
            }
        }

        var summary = TidyTable(name: "subspace_summary", summary: "one row per configuration × measure: spread across seeds", columns: [
            .init("label", "configuration label"), .init("method", "fine-tuning method"),
            .init("measure", summaryMeasures.joined(separator: ", ")),
            .init("mean", "mean across seeds of the per-seed mean over matrices"),
            .init("std", "sample standard deviation across seeds (0 for one seed)"),
            .init("n", "seeds where the measure is defined"), .init("min", "smallest per-seed value"), .init("max", "largest per-seed value"),
        ])
        var labels: [(label: String, method: String)] = []
        for (cell, _) in plan.cells where !labels.contains(where: { $0.label == cell.label }) { labels.append((cell.label, cell.method)) }
        for (label, method) in labels {
            guard let seeds = perSeed[label] else { continue }
            for measure in summaryMeasures {
                let values = seeds.keys.sorted().compactMap { seeds[$0]?[measure] }.map { $0.reduce(0, +) / Double($0.count) }
                guard !values.isEmpty else { continue }
                let s = SeedSpread(values)
                summary.append([.text(label), .text(method), .text(measure), .number(s.mean), .spread(s),
                                .integer(s.count), .number(s.min), .number(s.max)])
            }
        }
        for key in sweepOrder {
            let entry = sweepSums[key]!
            for (e, epsilon) in SubspaceAnalysis.epsilonGrid.enumerated() {
                let values = entry.values[e]
                let observed = values.map(\.0).reduce(0, +) / Double(values.count)
                let nulls = values.map(\.1)
                let null = nulls.reduce(0, +) / Double(nulls.count)
                sweep.append([.text(entry.cell.label), .text(entry.cell.method), .integer(entry.cell.seed), .integer(entry.t), .text(entry.stage),
                              .number(epsilon), .integer(values.count), .integer(entry.k), .number(observed), .number(null),
                              .number(nulls.min()!), .number(nulls.max()!), .number(observed - null)])
            }
        }
        return [summary, interference, amplification, intruders, sweep, similarity]
    }

    /// The amplification rank of a cell: its configuration's integer `r` (LoRA-family methods),
    /// else `options.rank`; at most `limit` = min(m, n).
    static func amplificationRank(_ cell: StudyResults.Cell, options: SubspaceAnalysis.Options, limit: Int) -> (Int, String) {
        if let r = cell.rank, r >= 1 {
            return (min(r, limit), "configuration")
        }
        return (min(options.rank, limit), "option")
    }
}

/// W₀ of one seed and matrix as the subspace measures use it: its factors (decomposed once),
/// the intruder null's raw draws, and the ε the intruder test uses there.
struct SeedBase {
    let w0: Tensor
    let factors: SubspaceFactors
    /// Max |cos| of each random unit vector with W₀'s left singular vectors.
    let nullMaxAbsCosines: [Double]
    /// The intruder threshold: `--epsilon`, or chosen from the null (`SubspaceAnalysis.automaticEpsilon`).
    let epsilon: Double
    /// Fraction of the null's random vectors that count as intruders at `epsilon`, and their mean max |cos|.
    let nullIntruderFraction: Double
    let nullMeanMaxAbsCosine: Double

    init(w0: Tensor, factors: SubspaceFactors, nullMaxAbsCosines: [Double], epsilon: Double) {
        self.w0 = w0; self.factors = factors; self.nullMaxAbsCosines = nullMaxAbsCosines; self.epsilon = epsilon
        nullIntruderFraction = IntruderDimensions.fractionBelow(nullMaxAbsCosines, epsilon: epsilon)
        nullMeanMaxAbsCosine = nullMaxAbsCosines.reduce(0, +) / Double(nullMaxAbsCosines.count)
    }
}
