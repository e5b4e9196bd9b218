import Analysis
import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// `CheckpointAnalysis`: spectrum of ΔW between two checkpoints, of a peft adapter's modules,
/// and the 4-bit quantization error of a checkpoint's tensors.
@Suite struct CheckpointAnalysisTests {
    /// Rounding slack for measures computed in Float32 from exactly representable matrices.
    static let tolerance = 1e-5

    /// An m×n matrix of Gaussian values rounded to multiples of 1/16, so adding and subtracting
    /// small integers is exact in Float32.
    static func dyadic(_ rows: Int, _ columns: Int, seed: UInt64) -> Tensor {
        var rng = SeededRNG(seed: seed)
        var t = Tensor.normal([rows, columns], rng: &rng)
        t.storage = t.storage.map { ($0 * 16).rounded() / 16 }
        return t
    }

    /// ΔW = 4·e₀e₂ᵀ + 1·e₁e₃ᵀ (8×6): σ = (4, 1), so ‖ΔW‖²_F = 17 and the energy fractions are
    /// 16/17 ≈ 0.941 after one component and 1 after two.
    static func rankTwoUpdate() -> Tensor {
        var delta = Tensor(shape: [8, 6], repeating: 0)
        delta[0, 2] = 4
        delta[1, 3] = 1
        return delta
    }

    static func write(_ tensors: [(String, Tensor)], to path: String) throws {
        var writer = SafetensorsWriter()
        for (name, tensor) in tensors { writer.add(name, tensor) }
        try writer.write(to: path)
    }

    /// base.safetensors and tuned.safetensors: `a.weight` tuned = base + the rank-2 update,
    /// `b.weight` tuned = base + 2·I-like update, a 1-D tensor in both, names on one side only
    /// and one shape mismatch.
    static func writePair(in folder: URL) throws -> (base: CheckpointSet, tuned: CheckpointSet) {
        let a = dyadic(8, 6, seed: 1), b = dyadic(5, 5, seed: 2)
        var bTuned = b
        for i in 0..<5 { bTuned[i, i] += 2 }
        let basePath = folder.appendingPathComponent("base.safetensors").path
        let tunedPath = folder.appendingPathComponent("tuned.safetensors").path
        try write([("a.weight", a), ("b.weight", b), ("norm", Tensor(shape: [6], repeating: 1)),
                   ("only_base.weight", dyadic(3, 3, seed: 3)), ("reshaped.weight", dyadic(4, 4, seed: 4))], to: basePath)
        try write([("a.weight", a + rankTwoUpdate()), ("b.weight", bTuned), ("norm", Tensor(shape: [6], repeating: 2)),
                   ("only_tuned.weight", dyadic(3, 3, seed: 5)), ("reshaped.weight", dyadic(4, 5, seed: 6))], to: tunedPath)
        return (try CheckpointSet(path: basePath), try CheckpointSet(path: tunedPath))
    }

    static func row(_ table: TidyTable, tensor: String) throws -> [String: TidyTable.Value] {
        try #require(table.records().first { $0["tensor"] == .text(tensor) }, "no row for \(tensor) in \(table.name)")
    }

    static func number(_ value: TidyTable.Value?) -> Double? {
        switch value {
        case .number(let x)?: return x
        case .integer(let i)?: return Double(i)
        default: return nil
        }
    }

    // MARK: - base vs tuned

    @Test("tuned = base + a rank-2 update (σ = 4, 1): numerical rank 2, energy ranks 1, 1, 2 by hand")
    func rankTwoDifference() throws {
        try withTemporaryFolder { folder in
            let (base, tuned) = try Self.writePair(in: folder)
            var lines: [String] = []
            let report = try CheckpointAnalysis.spectrum(base: base, tuned: tuned, progress: { lines.append($0) })
            let table = try #require(report.tables.first)
            #expect(table.name == "checkpoint_spectrum" && report.storage == nil)
            #expect(table.values("tensor") == [.text("a.weight"), .text("b.weight")])
            let a = try Self.row(table, tensor: "a.weight")
            #expect(a["rows"] == .integer(8) && a["columns"] == .integer(6))
            #expect(a["numerical_rank"] == .integer(2))
            #expect(a["energy_rank_50"] == .integer(1) && a["energy_rank_90"] == .integer(1) && a["energy_rank_99"] == .integer(2))
            #expect(abs(try #require(Self.number(a["spectral_norm"])) - 4) < Self.tolerance)
            #expect(abs(try #require(Self.number(a["frobenius_norm"])) - 17.0.squareRoot()) < Self.tolerance)
            #expect(abs(try #require(Self.number(a["stable_rank"])) - 17.0 / 16.0) < Self.tolerance)
            #expect(a["svd_mode"] == .text("exact") && a["svd_relative_residual"] == .missing)
            // b: ΔW = 2·I₅, full rank with equal energy per component.
            let b = try Self.row(table, tensor: "b.weight")
            #expect(b["numerical_rank"] == .integer(5) && b["energy_rank_90"] == .integer(5))
            #expect(lines == ["tensor 1/2 a.weight", "tensor 2/2 b.weight"])
        }
    }

    @Test("names on one side, shape mismatches and 1-D tensors are listed in the notes, not measured")
    func unmatchedNamesInNotes() throws {
        try withTemporaryFolder { folder in
            let (base, tuned) = try Self.writePair(in: folder)
            let report = try CheckpointAnalysis.spectrum(base: base, tuned: tuned)
            let notes = report.notes.joined(separator: "\n")
            #expect(notes.contains("Only in base (1): only_base.weight"))
            #expect(notes.contains("Only in tuned (1): only_tuned.weight"))
            #expect(notes.contains("reshaped.weight [4, 4] vs [4, 5]"))
            #expect(notes.contains("Not 2-D, skipped (1): norm"))
            #expect(report.rendered().contains("# Only in base"))
        }
    }

    @Test("a ΔW whose spectrum overflows float32 (entries of 3e38) is an error naming the tensor, with and without --top-k")
    func spectrumOutOfRangeNamesTheTensor() throws {
        try withTemporaryFolder { folder in
            let basePath = folder.appendingPathComponent("base.safetensors").path, tunedPath = folder.appendingPathComponent("tuned.safetensors").path
            try Self.write([("big.weight", Tensor(shape: [8, 8], repeating: 0))], to: basePath)
            try Self.write([("big.weight", Tensor(shape: [8, 8], repeating: 3e38))], to: tunedPath)
            let base = try CheckpointSet(path: basePath), tuned = try CheckpointSet(path: tunedPath)
            for topK in [nil, 2] as [Int?] {
                #expect {
                    try CheckpointAnalysis.spectrum(base: base, tuned: tuned, topK: topK)
                } throws: { error in
                    "\(error)".hasPrefix("--tuned: tensor big.weight: ") && "\(error)".contains("out of range")
                }
            }
        }
    }

    @Test("--match keeps only matching tensors; no match and a bad regex are errors naming the option")
    func matchRestricts() throws {
        try withTemporaryFolder { folder in
            let (base, tuned) = try Self.writePair(in: folder)
            let report = try CheckpointAnalysis.spectrum(base: base, tuned: tuned, match: "^b\\.")
            #expect(report.tables[0].values("tensor") == [.text("b.weight")])
            #expect(!report.notes.joined().contains("only_base"))
            #expect(throws: AnalysisError.self) { try CheckpointAnalysis.spectrum(base: base, tuned: tuned, match: "^nothing$") }
            do {
                _ = try CheckpointAnalysis.spectrum(base: base, tuned: tuned, match: "(")
                Issue.record("an unbalanced parenthesis was accepted as --match")
            } catch let error as AnalysisError {
                guard case .invalidOption(let name, let value, _) = error else { Issue.record("\(error)"); return }
                #expect(name == "match" && value == "(")
            }
        }
    }

    @Test("--top-k gives the randomized top k with a residual; the leading σ agrees with the exact one")
    func topK() throws {
        try withTemporaryFolder { folder in
            var rng = SeededRNG(seed: 9)
            let base = Tensor.normal([64, 48], rng: &rng), noise = Tensor.normal([64, 48], std: 0.5, rng: &rng)
            let basePath = folder.appendingPathComponent("b.safetensors").path, tunedPath = folder.appendingPathComponent("t.safetensors").path
            try Self.write([("w", base)], to: basePath)
            try Self.write([("w", base + noise)], to: tunedPath)
            let b = try CheckpointSet(path: basePath), t = try CheckpointSet(path: tunedPath)
            let exact = try Self.row(try CheckpointAnalysis.spectrum(base: b, tuned: t).tables[0], tensor: "w")
            let sketch = try Self.row(try CheckpointAnalysis.spectrum(base: b, tuned: t, topK: 4).tables[0], tensor: "w")
            #expect(sketch["svd_mode"] == .text("randomized"))
            #expect(Self.number(sketch["svd_relative_residual"]).map { $0 > 0 && $0 < 1 } == true)
            let s1 = try #require(Self.number(exact["spectral_norm"])), k1 = try #require(Self.number(sketch["spectral_norm"]))
            #expect(abs(s1 - k1) / s1 < 0.05)
            #expect(throws: AnalysisError.self) { try CheckpointAnalysis.spectrum(base: b, tuned: t, topK: 0) }
        }
    }

    // MARK: - peft adapter

    @Test("adapter fixture: one row per module, numerical rank ≤ r, σ₁ equal to that of delta(for:)")
    func adapterSpectrum() throws {
        let adapter = try PEFTAdapter(folder: CheckpointFixtures.path("lora_adapter"))
        let report = try CheckpointAnalysis.spectrum(adapter: adapter)
        #expect(report.tables.map(\.name) == ["adapter_spectrum", "singular_values"], "the spectrum itself, as in the study mode")
        let table = report.tables[0]
        let values = report.tables[1].namedRows
        for module in adapter.modules {
            let sigmas = values.filter { $0.text("tensor") == module.baseWeightName }.compactMap { $0.number("sigma") }
            let expected = try RankSpectrum.of(try adapter.delta(for: module)).singularValues.map(Double.init)
            #expect(sigmas == expected)
            #expect(abs((values.last { $0.text("tensor") == module.baseWeightName }?.number("energy_cumulative") ?? 0) - 1) < 1e-6)
        }
        #expect(table.rows.count == adapter.modules.count && adapter.modules.count == 2)
        for module in adapter.modules {
            let row = try Self.row(table, tensor: module.baseWeightName)
            #expect(row["lora_r"] == .integer(module.rank))
            let rank = try #require(Self.number(row["numerical_rank"]))
            #expect(rank >= 1 && rank <= Double(module.rank))
            let expected = try RankSpectrum.of(try adapter.delta(for: module)).spectralNorm
            #expect(abs(try #require(Self.number(row["spectral_norm"])) - expected) <= Self.tolerance * max(1, expected))
        }
        #expect(Set(table.values("lora_r").map(\.description)) == ["4", "2"])
    }

    @Test("adapter with its base: adapter_subspace has intruders within k and a positive amplification per module")
    func adapterSubspace() throws {
        let adapter = try PEFTAdapter(folder: CheckpointFixtures.path("lora_adapter"))
        let base = try CheckpointSet(path: CheckpointFixtures.path("lora_base"))
        var lines: [String] = []
        let report = try CheckpointAnalysis.spectrum(adapter: adapter, base: base, match: "q_proj", progress: { lines.append($0) })
        #expect(report.tables.map(\.name) == ["adapter_spectrum", "singular_values", "adapter_subspace"])
        let subspace = report.tables[2]
        #expect(subspace.values("tensor") == [.text("model.layers.0.self_attn.q_proj.weight")])
        let row = subspace.records()[0]
        #expect(row["intruder_k"] == .integer(5) && row["lora_r"] == .integer(4))  // q_proj is 6×5
        let count = try #require(Self.number(row["intruder_count"]))
        #expect(count >= 0 && count <= 5)
        let share = try #require(Self.number(row["intruder_energy_share"]))
        #expect(share >= 0 && share <= 1)
        #expect(Self.number(row["amplification"]).map { $0 > 0 } == true)
        let own = try #require(Self.number(row["projected_base_norm_own_top"]))
        #expect(try #require(Self.number(row["projected_base_norm"])) <= own + Self.tolerance * max(1, own))
        #expect(lines == ["tensor 1/1 model.layers.0.self_attn.q_proj.weight"])

        // The default ε is the study mode's automatic one for this W0; an explicit ε is used as given.
        let w0 = try base.tensor(named: "model.layers.0.self_attn.q_proj.weight")
        let automatic = SubspaceAnalysis.automaticEpsilon(nullMaxAbsCosines: IntruderDimensions.nullMaxAbsCosines(
            baseLeftVectors: try SVD.decompose(w0, mode: .thin).u, samples: CheckpointAnalysis.intruderNullSamples, seed: CheckpointAnalysis.subspaceSeed))
        #expect(row["epsilon"] == .number(automatic))
        let given = try CheckpointAnalysis.spectrum(adapter: adapter, base: base, match: "q_proj", epsilon: 0.3).tables[2].records()[0]
        #expect(given["epsilon"] == .number(0.3))
    }

    // MARK: - NF4

    @Test("nf4 on a checkpoint: 8 rows per tensor (4 formats × double quant off/on); NF4 beats Int4 on Gaussian data")
    func nf4Rows() throws {
        try withTemporaryFolder { folder in
            var rng = SeededRNG(seed: 11)
            let path = folder.appendingPathComponent("ck.safetensors").path
            try Self.write([("layer.weight", Tensor.normal([64, 64], rng: &rng)), ("other.weight", Tensor.normal([32, 16], rng: &rng)),
                            ("bias", Tensor(shape: [8], repeating: 0.5))], to: path)
            let checkpoint = try CheckpointSet(path: path)
            let report = try CheckpointAnalysis.nf4(checkpoint: checkpoint)
            let table = report.tables[0]
            #expect(table.rows.count == 16)
            #expect(report.notes.joined().contains("skipped (1): bias"))
            let layer = table.records().filter { $0["tensor"] == .text("layer.weight") }
            #expect(layer.count == 8)
            #expect(Set(layer.compactMap { $0["format"]?.description }) == ["nf4", "fp4", "e2m1", "int4"])
            for dq in [0, 1] {
                func error(_ format: String) throws -> Double {
                    try #require(Self.number(layer.first { $0["format"] == .text(format) && $0["double_quant"] == .integer(dq) }?["relative_frobenius"]))
                }
                let nf4 = try error("nf4"), int4 = try error("int4")
                #expect(nf4 < int4)
            }
            let restricted = try CheckpointAnalysis.nf4(checkpoint: checkpoint, match: "^other")
            #expect(Set(restricted.tables[0].values("tensor").map(\.description)) == ["other.weight"] && restricted.tables[0].rows.count == 8)
            #expect(throws: AnalysisError.self) { try CheckpointAnalysis.nf4(checkpoint: checkpoint, blocksize: 48) }
        }
    }

    @Test("nf4 on a checkpoint with NaN or ∞: such a tensor is named in a note with no rows; all of them non-finite is an error")
    func nf4NonFinite() throws {
        try withTemporaryFolder { folder in
            var rng = SeededRNG(seed: 12)
            let path = folder.appendingPathComponent("ck.safetensors").path
            try Self.write([("good.weight", Tensor.normal([32, 32], rng: &rng)), ("nan.weight", Tensor(shape: [32, 32], repeating: .nan))], to: path)
            let report = try CheckpointAnalysis.nf4(checkpoint: try CheckpointSet(path: path))
            #expect(Set(report.tables[0].values("tensor").map(\.description)) == ["good.weight"])
            #expect(report.notes.contains { $0.contains("Non-finite") && $0.contains("nan.weight") })
            let bad = folder.appendingPathComponent("bad.safetensors").path
            try Self.write([("inf.weight", Tensor(shape: [32, 32], repeating: .infinity))], to: bad)
            #expect(throws: AnalysisError.self) { try CheckpointAnalysis.nf4(checkpoint: try CheckpointSet(path: bad)) }
        }
    }
}
