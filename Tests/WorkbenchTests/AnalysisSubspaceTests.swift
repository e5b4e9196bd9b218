@testable import Analysis
import Foundation
import PEFTEngine
import Testing
@testable import Workbench

@Suite("Analysis: subspaces of ΔW from a results file")
struct AnalysisSubspaceTests {
    /// Agreement with the Analysis functions, which recompute the same SVDs (float32 rounding).
    static let relativeTolerance = 1e-4
    /// Principal angles recomputed from the same matrices, in degrees.
    static let angleToleranceDegrees = 1e-2

    static let sweep = "  - {method: full, lr: 3.0e-4}\n  - {method: lora, r: [1, 2], lora_alpha: 4}\n"

    /// The tiny study with two seeds and full + LoRA r = 1, 2.
    static func twoSeedResults(in folder: URL) throws -> StudyResults {
        let text = tinyStudyText(methods: sweep).replacingOccurrences(of: "seeds: [0]", with: "seeds: [0, 1]")
        let study = try writeStudy(text, in: folder)
        let url = folder.appendingPathComponent("results.h5")
        _ = try runStudy(study, output: url)
        return try StudyResults(url: url)
    }

    static func table(_ report: AnalysisReport, _ name: String) throws -> TidyTable {
        try #require(report.tables.first { $0.name == name }, "no table \(name)")
    }

    static func number(_ v: TidyTable.Value) -> Double {
        if case .number(let x) = v { return x }
        if case .integer(let i) = v { return Double(i) }
        Issue.record("not a number: \(v)")
        return .nan
    }

    static func close(_ a: Double, _ b: Double, _ tolerance: Double = relativeTolerance) -> Bool {
        abs(a - b) <= tolerance * max(1, abs(a), abs(b))
    }

    @Test("φ compares configurations of one seed and seeds of one configuration; a ΔW with itself has φ = 1")
    func similarity() throws {
        try withTemporaryFolder { folder in
            let results = try Self.twoSeedResults(in: folder)
            #expect(results.cells.map(\.label) == ["full", "full", "lora r=1", "lora r=1", "lora r=2", "lora r=2"])
            let report = try SubspaceAnalysis.run(results, filter: AnalysisFilter())
            let table = try Self.table(report, "subspace_similarity")
            let c = { (name: String) in table.columnIndex(name)! }
            let pairs = Set(table.rows.map { "\($0[c("label_a")])|\($0[c("label_b")])|\($0[c("seed_a")])|\($0[c("seed_b")])" })
            #expect(pairs == [
                "full|lora r=1|0|0", "full|lora r=2|0|0", "lora r=1|lora r=2|0|0",
                "full|lora r=1|1|1", "full|lora r=2|1|1", "lora r=1|lora r=2|1|1",
                "full|full|0|1", "lora r=1|lora r=1|0|1", "lora r=2|lora r=2|0|1",
            ])

            let matrix = "blocks.0.attn.q.weight"
            let seed0 = results.cells(seed: 0)
            let lora2 = try #require(seed0.first { $0.label == "lora r=2" })
            let full = try #require(seed0.first { $0.label == "full" })
            let d2 = try results.delta(lora2, afterTask: 2, name: matrix)
            let dFull = try results.delta(full, afterTask: 2, name: matrix)
            let f2 = try SubspaceFactors(d2), fFull = try SubspaceFactors(dFull)
            #expect(f2.subspaceRank == 2, "LoRA r = 2 stores a rank-2 ΔW")

            let itself = try #require(SubspaceMeasures.similarity(f2, f2))
            #expect(itself.values.allSatisfy { abs($0 - 1) <= Self.relativeTolerance }, "\(itself.values)")

            let expected = try SubspaceSimilarity.grid(updates: dFull, d2, rankA: fFull.subspaceRank, rankB: 2)
            let rows = table.rows.filter {
                $0[c("label_a")] == .text("full") && $0[c("label_b")] == .text("lora r=2") && $0[c("seed_a")] == .integer(0)
                    && $0[c("task")] == .text("mod7") && $0[c("matrix")] == .text(matrix)
            }
            #expect(rows.map { $0[c("statistic")] } == [.text("phi"), .text("phi"), .text("grid_mean")], "i = 1, 2 ≤ min ranks, then the mean")
            for row in rows.prefix(2) {
                let i = Int(Self.number(row[c("i")]))
                #expect(Self.close(Self.number(row[c("phi")]), expected[i, i]))
                #expect(Self.number(row[c("phi_random")]) == Double(i) / 16)
            }
            let mean = expected.values.reduce(0, +) / Double(expected.values.count)
            #expect(Self.close(Self.number(rows[2][c("phi")]), mean))
            #expect(rows[2][c("i")] == .integer(fFull.subspaceRank) && rows[2][c("j")] == .integer(2))

            let summary = try Self.table(report, "subspace_summary")
            let phiSeeds = summary.rows.filter { $0[2] == .text("phi_vs_other_seeds") }
            #expect(phiSeeds.count == 3 && phiSeeds.allSatisfy { $0[5] == .integer(2) }, "one value per seed, per configuration")
            let shown = try #require(report.displayTables)
            #expect(shown.first?.rows.count == 3, "one printed row per configuration")
            #expect(!shown.contains { $0.name == "task_interference" }, "36 interference rows are too many to print")

            let again = try SubspaceAnalysis.run(StudyResults(url: results.url), filter: AnalysisFilter())
            #expect(again.reused && again.tables == report.tables)
            let other = try SubspaceAnalysis.run(StudyResults(url: results.url), filter: AnalysisFilter(),
                                                 options: .init(intruderK: 4))
            #expect(!other.reused, "other options are another result")
        }
    }

    @Test("amplification and intruder rows equal AmplificationFactor and IntruderDimensions on the stored matrices")
    func amplificationAndIntruders() throws {
        try withTemporaryFolder { folder in
            let results = try Self.twoSeedResults(in: folder)
            let options = SubspaceAnalysis.Options(epsilon: 0.5, nullSamples: 50)
            let report = try SubspaceAnalysis.run(results, filter: AnalysisFilter(seeds: [1]), options: options)
            let amplification = try Self.table(report, "amplification")
            let intruders = try Self.table(report, "intruder_dimensions")
            #expect(amplification.rows.count == 3 * 2 * 6, "3 configurations × 2 stages × 6 matrices")
            #expect(intruders.rows.count == amplification.rows.count)
            let a = { (name: String) in amplification.columnIndex(name)! }
            let n = { (name: String) in intruders.columnIndex(name)! }

            for (label, rank, source) in [("lora r=2", 2, "configuration"), ("full", 8, "option")] {
                let cell = try #require(results.cells(label: label, seed: 1).first)
                let matrix = "blocks.0.mlp.fc.weight"
                let w0 = try results.baseWeight(seed: 1, name: matrix)
                let dW = try results.delta(cell, afterTask: 1, name: matrix)
                let select = { (row: [TidyTable.Value], c: (String) -> Int) in
                    row[c("label")] == .text(label) && row[c("task")] == .text("rev") && row[c("matrix")] == .text(matrix)
                }
                let row = try #require(amplification.rows.first { select($0, a) })
                #expect(row[a("r")] == .integer(rank) && row[a("r_source")] == .text(source))
                let expected = try AmplificationFactor.compute(base: w0, update: dW, rank: rank, randomDraws: 10, seed: 1)
                #expect(Self.close(Self.number(row[a("delta_norm")]), expected.updateNorm))
                #expect(Self.close(Self.number(row[a("projected_norm")]), expected.projectedBaseNorm))
                #expect(Self.close(Self.number(row[a("amplification")]), expected.amplification))
                #expect(Self.close(Self.number(row[a("w0_top_projection")]), expected.projectedBaseNormOnOwnTopSubspace))
                #expect(Self.close(Self.number(row[a("random_projection")]), expected.projectedBaseNormOnRandomSubspaces))

                let found = try #require(intruders.rows.first { select($0, n) })
                let reference = try IntruderDimensions.find(base: w0, update: dW, k: 10, epsilon: 0.5, nullSamples: 50, seed: 1)
                #expect(found[n("count")] == .integer(reference.count))
                #expect(Self.close(Self.number(found[n("energy_share")]), reference.intruderEnergyShare))
                #expect(Self.close(Self.number(found[n("null_intruder_fraction")]), reference.null.intruderFraction))
                #expect(Self.close(Self.number(found[n("null_mean_max_cos")]), reference.null.meanMaxAbsCosine))
                #expect(Self.close(Self.number(found[n("excess_intruder_fraction")]),
                                   Double(reference.count) / 10 - reference.null.intruderFraction))
            }
        }
    }

    @Test("the ε sweep at ε = 0.5 is the intruder table's count/k and null fraction averaged over matrices; both rise with ε")
    func epsilonSweep() throws {
        try withTemporaryFolder { folder in
            let results = try Self.twoSeedResults(in: folder)
            let report = try SubspaceAnalysis.run(results, filter: AnalysisFilter(seeds: [1]), options: SubspaceAnalysis.Options(epsilon: 0.5, nullSamples: 50))
            let intruders = try Self.table(report, "intruder_dimensions").namedRows
            let sweep = try Self.table(report, "intruder_sweep").namedRows
            #expect(sweep.count == 3 * 2 * 19, "3 configurations × 2 stages × 19 thresholds")
            #expect(SubspaceAnalysis.epsilonGrid.first == 0.05 && SubspaceAnalysis.epsilonGrid.count == 19)
            for label in ["full", "lora r=2"] {
                let mine = intruders.filter { $0.text("label") == label && $0.text("task") == "rev" }
                let atHalf = try #require(sweep.first { $0.text("label") == label && $0.text("task") == "rev" && abs(($0.number("epsilon") ?? 0) - 0.5) < 1e-12 })
                let expected = mine.map { $0.number("count")! / $0.number("k")! }.reduce(0, +) / Double(mine.count)
                #expect(Self.close(atHalf.number("intruder_fraction")!, expected))
                let nulls = mine.map { $0.number("null_intruder_fraction")! }
                #expect(Self.close(atHalf.number("null_intruder_fraction")!, nulls.reduce(0, +) / Double(nulls.count)))
                #expect(atHalf.number("null_max") == nulls.max() && atHalf.integer("matrices") == mine.count)
                let curve = sweep.filter { $0.text("label") == label && $0.text("task") == "rev" }
                let observed = curve.map { $0.number("intruder_fraction")! }, null = curve.map { $0.number("null_intruder_fraction")! }
                #expect(zip(observed, observed.dropFirst()).allSatisfy { $0 <= $1 } && zip(null, null.dropFirst()).allSatisfy { $0 <= $1 })
            }
            #expect(IntruderDimensions.fractionBelow([0.1, 0.3, 0.5, 0.7], epsilon: 0.5) == 0.5, "strictly below ε")
        }
    }

    @Test("the default ε is the largest grid value at which at most 5 % of the null counts, and the table says which")
    func automaticEpsilon() throws {
        // 40 draws: below 0.35 and 0.4 two of them (5 %), below 0.45 three (7.5 %).
        #expect(SubspaceAnalysis.automaticEpsilon(nullMaxAbsCosines: [0.3, 0.32, 0.4, 0.5] + Array(repeating: 0.6, count: 36)) == 0.4)
        #expect(SubspaceAnalysis.automaticEpsilon(nullMaxAbsCosines: [0.01, 0.02]) == 0.05, "none qualifies: the first grid value")
        try withTemporaryFolder { folder in
            let results = try Self.twoSeedResults(in: folder)
            let report = try SubspaceAnalysis.run(results, filter: AnalysisFilter(seeds: [1]), options: SubspaceAnalysis.Options(nullSamples: 100))
            let rows = try Self.table(report, "intruder_dimensions").namedRows
            #expect(!rows.isEmpty)
            for row in rows {
                #expect(try #require(row.number("null_intruder_fraction")) <= 0.05, "the automatic ε keeps the null at most 5 %")
                #expect(try #require(row.number("epsilon")) < 0.5, "at d = 16 the paper's 0.5 would be all noise")
            }
        }
    }

    @Test("interference compares the increments ΔW_t − ΔW_{t−1} of successive tasks, not the cumulative ΔW")
    func interferenceUsesIncrements() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder, methods: Self.sweep)
            let report = try SubspaceAnalysis.run(results, filter: AnalysisFilter(labels: ["lora r=2", "full"]))
            let table = try Self.table(report, "task_interference")
            #expect(table.rows.count == 2 * 6, "2 cells × 6 matrices × 1 pair of tasks")
            #expect(report.displayTables?.map(\.name) == ["subspace", "task_interference"], "a short interference table is printed")
            let c = { (name: String) in table.columnIndex(name)! }
            for label in ["lora r=2", "full"] {
                let cell = try #require(results.cells(label: label).first)
                let matrix = "blocks.0.attn.v.weight"
                let d1 = try results.delta(cell, afterTask: 1, name: matrix)
                let d2 = try results.delta(cell, afterTask: 2, name: matrix)
                let increment = d2 - d1
                let r = min(4, try SubspaceFactors(d1).subspaceRank, try SubspaceFactors(increment).subspaceRank)
                let angles = try PrincipalAngles.betweenTopSingularVectors(of: d1, increment, rank: r).map { $0 * 180 / .pi }
                let phi = try SubspaceSimilarity.phi(SingularSubspace.top(r, of: d1), SingularSubspace.top(r, of: increment), i: r, j: r)
                let row = try #require(table.rows.first { $0[c("label")] == .text(label) && $0[c("matrix")] == .text(matrix) })
                #expect(row[c("task_a")] == .text("rev") && row[c("task_b")] == .text("mod7") && row[c("r")] == .integer(r))
                #expect(abs(Self.number(row[c("angle_min_deg")]) - angles.first!) <= Self.angleToleranceDegrees)
                #expect(abs(Self.number(row[c("angle_max_deg")]) - angles.last!) <= Self.angleToleranceDegrees)
                let meanAngle = angles.reduce(0, +) / Double(angles.count)
                #expect(abs(Self.number(row[c("angle_mean_deg")]) - meanAngle) <= Self.angleToleranceDegrees)
                #expect(Self.close(Self.number(row[c("phi")]), phi))
                let cumulative = try SubspaceSimilarity.phi(SingularSubspace.top(r, of: d1), SingularSubspace.top(r, of: d2), i: r, j: r)
                #expect(abs(cumulative - phi) > Self.relativeTolerance, "the cumulative ΔW_2 would give another φ")
            }
        }
    }

    @Test("a matrix filter restricts every table to the matching matrices; one matching none is refused")
    func matrixFilter() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            let report = try SubspaceAnalysis.run(results, filter: AnalysisFilter(matrices: ["mlp.fc"]))
            for name in ["subspace_similarity", "task_interference", "amplification", "intruder_dimensions"] {
                let table = try Self.table(report, name)
                #expect(!table.rows.isEmpty, "\(name) has rows")
                #expect(table.values("matrix").allSatisfy { $0 == .text("blocks.0.mlp.fc.weight") }, "\(name)")
            }
            #expect(throws: AnalysisError.self) { try SubspaceAnalysis.run(results, filter: AnalysisFilter(matrices: ["attn.zz"])) }
        }
    }

    @Test("cells without a weight-space ΔW give a clear error naming their methods")
    func noDelta() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder, methods: "  - {method: prompt, num_virtual_tokens: 2}\n")
            do {
                _ = try SubspaceAnalysis.run(results, filter: AnalysisFilter())
                Issue.record("a prompt-only study has no ΔW")
            } catch let error as AnalysisError {
                guard case .missing = error else { Issue.record("expected .missing, got \(error)"); return }
                #expect(error.description.contains("ΔW") && error.description.contains("prompt"))
            }
            #expect(throws: AnalysisError.self) {
                try SubspaceAnalysis.run(results, filter: AnalysisFilter(), options: .init(epsilon: 1.5))
            }
        }
    }
}
