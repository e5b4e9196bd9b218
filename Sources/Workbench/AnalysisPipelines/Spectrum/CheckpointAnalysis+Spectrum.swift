import Analysis
import Foundation
import PEFTEngine

/// `workbench spectrum --base/--tuned` and `--adapter`: the spectrum analysis on checkpoints.
extension CheckpointAnalysis {
    // MARK: - base vs tuned

    /// The rank spectrum of ΔW = tuned − base for every 2-D tensor name present in both sources
    /// with equal shapes (and matching `match`, a regular expression searched anywhere in the
    /// name). Names only on one side, shape mismatches and non-2-D tensors go to `notes`.
    ///
    /// - Throws: `AnalysisError.invalidOption` for a bad regex or top-k, `.nothingSelected` when
    ///   no tensor qualifies, `CheckpointError` from reading, `SVDError` for non-finite values.
    public static func spectrum(base: some TensorSource, tuned: some TensorSource, match: String? = nil,
                                topK: Int? = nil, progress: Progress? = nil) throws -> AnalysisReport {
        try validate(topK: topK)
        let filter = try NameFilter(match)
        var notes = spectrumNotes(topK: topK)
        let baseNames = Set(base.names), tunedNames = Set(tuned.names)
        let onlyBase = base.names.filter { !tunedNames.contains($0) && filter.selects($0) }
        let onlyTuned = tuned.names.filter { !baseNames.contains($0) && filter.selects($0) }
        if !onlyBase.isEmpty { notes.append("Only in base (\(onlyBase.count)): " + onlyBase.joined(separator: ", ")) }
        if !onlyTuned.isEmpty { notes.append("Only in tuned (\(onlyTuned.count)): " + onlyTuned.joined(separator: ", ")) }

        var selected: [String] = []
        var mismatched: [String] = [], notMatrices: [String] = []
        for name in base.names where tunedNames.contains(name) && filter.selects(name) {
            let b = try base.info(name).shape, t = try tuned.info(name).shape
            if b != t { mismatched.append("\(name) \(b) vs \(t)") }
            else if b.count != 2 { notMatrices.append(name) }
            else { selected.append(name) }
        }
        if !mismatched.isEmpty { notes.append("Shape differs (\(mismatched.count)): " + mismatched.joined(separator: "; ")) }
        if !notMatrices.isEmpty { notes.append("Not 2-D, skipped (\(notMatrices.count)): " + notMatrices.joined(separator: ", ")) }
        guard !selected.isEmpty else {
            throw AnalysisError.nothingSelected(path: describe(tuned), filters: filter.description + " (2-D tensors in both checkpoints with one shape)")
        }

        var table = spectrumTable(name: "checkpoint_spectrum", summary: "one row per tensor: ΔW = tuned − base", leading: [])
        var values = singularValueTable()
        for (i, name) in selected.enumerated() {
            progress?("tensor \(i + 1)/\(selected.count) \(name)")
            let delta = difference(try tuned.tensor(named: name), try base.tensor(named: name))
            let measured = try named(name, in: "--tuned") { try SpectrumAnalysis.measure(delta, topK: topK) }
            table.append([.text(name)] + measures(measured))
            appendSingularValues(of: measured, tensor: name, to: &values)
        }
        var report = AnalysisReport(analysis: "checkpoint-spectrum", tables: [table, values], reused: false, storage: nil, notes: notes)
        report.displayTables = [table]
        return report
    }

    // MARK: - peft adapter

    /// The rank spectrum of ΔW of every adapted module of `adapter` (table `adapter_spectrum`)
    /// and, with `base`, intruder dimensions of W0 + ΔW against W0 (top `intruderK`, clamped to
    /// min(m, n), threshold `epsilon`; nil: each W0's automatic ε, as in the study mode —
    /// `SubspaceAnalysis.automaticEpsilon`, the largest ε on the grid whose null fraction is at
    /// most 5 %) and the amplification factor at r = the module's rank (table `adapter_subspace`).
    ///
    /// For DoRA modules with a base, ΔW is the merged weight minus W0 (magnitude included);
    /// without a base it is the LoRA part s·B·A only.
    public static func spectrum(adapter: PEFTAdapter, base: (any TensorSource)? = nil, match: String? = nil,
                                topK: Int? = nil, intruderK: Int = 10, epsilon: Double? = nil,
                                progress: Progress? = nil) throws -> AnalysisReport {
        try validate(topK: topK)
        guard intruderK >= 1 else {
            throw AnalysisError.invalidOption(name: "intruder-k", value: String(intruderK), reason: "must be ≥ 1")
        }
        if let epsilon, !(epsilon > 0 && epsilon <= 1) {
            throw AnalysisError.invalidOption(name: "epsilon", value: String(epsilon), reason: "must be in (0, 1]")
        }
        let filter = try NameFilter(match)
        let modules = adapter.modules.filter { filter.selects($0.name) || filter.selects($0.baseWeightName) }
        guard !modules.isEmpty else {
            throw AnalysisError.nothingSelected(path: adapter.folder, filters: filter.description + " (adapted modules)")
        }
        var notes = spectrumNotes(topK: topK)
        notes.append("ΔW = s·B·A per module (s = alpha/r, or alpha/√r with rsLoRA), in the base weight's layout; DoRA modules with a base: merged weight − W0.")
        if base != nil {
            notes.append("adapter_subspace: intruder dimensions of W0 + ΔW vs W0 (Shuttleworth et al. 2024; k = min(\(intruderK), m, n), ε = \(epsilon.map { String($0) } ?? "automatic per W0: the largest ε on 0.05, 0.10, …, 0.95 at which at most 5 % of the null falls below it"), null from \(intruderNullSamples) random unit vectors, seed \(subspaceSeed)); amplification = ‖ΔW‖_F / ‖Uᵀ·W0·V‖_F with U, V the top-r singular vectors of ΔW (Hu et al. 2021, §7.3; 10 random subspace pairs, seed \(subspaceSeed)).")
        }

        var spectra = spectrumTable(name: "adapter_spectrum", summary: "one row per adapted module: ΔW of the adapter",
                                    leading: [.init("lora_r", "the module's rank r")])
        var subspace = TidyTable(name: "adapter_subspace", summary: "one row per adapted module found in the base", columns: [
            .init("tensor", "the base weight <module>.weight"), .init("lora_r", "the module's rank r"),
            .init("intruder_k", "top singular vectors of W0 + ΔW examined"), .init("epsilon", "cosine threshold ε"),
            .init("intruder_count", "top-k left singular vectors of W0 + ΔW with max |cos| to W0's < ε"),
            .init("intruder_energy_share", "their share of Σ_{i<k} σᵢ(W0 + ΔW)²"),
            .init("null_intruder_fraction", "fraction of random unit vectors that would count as intruders"),
            .init("update_norm", "‖ΔW‖_F"), .init("projected_base_norm", "‖Uᵀ·W0·V‖_F, U, V the top-r singular vectors of ΔW"),
            .init("amplification", "‖ΔW‖_F / ‖Uᵀ·W0·V‖_F"),
            .init("projected_base_norm_own_top", "√(Σ_{i≤r} σᵢ(W0)²): W0's own top-r subspace"),
            .init("projected_base_norm_random", "mean ‖Uᵀ·W0·V‖_F over random rank-r subspaces"),
        ])
        var values = singularValueTable()
        var missingBase: [String] = []
        for (i, module) in modules.enumerated() {
            progress?("tensor \(i + 1)/\(modules.count) \(module.baseWeightName)")
            var delta = try adapter.delta(for: module)
            var w0: Tensor?
            if let base {
                if base.names.contains(module.baseWeightName) {
                    let weight = try base.tensor(named: module.baseWeightName)
                    if module.magnitudeName != nil {
                        delta = difference(try adapter.mergedWeight(for: module, base: weight), weight)
                    } else if weight.shape != delta.shape {
                        throw CheckpointError.invalidLoRAModule(
                            path: adapter.file.path, module: module.name,
                            detail: "base weight '\(module.baseWeightName)' has shape \(weight.shape), the adapter expects \(delta.shape)")
                    }
                    w0 = weight
                } else {
                    missingBase.append(module.baseWeightName)
                }
            }
            let measured = try named(module.baseWeightName, in: adapter.folder) { try SpectrumAnalysis.measure(delta, topK: topK) }
            spectra.append([.text(module.baseWeightName), .integer(module.rank)] + measures(measured))
            appendSingularValues(of: measured, tensor: module.baseWeightName, to: &values)
            guard let w0 else { continue }
            let k = Swift.min(intruderK, w0.rows, w0.columns)
            let threshold = try epsilon ?? named(module.baseWeightName, in: "--base") {
                SubspaceAnalysis.automaticEpsilon(nullMaxAbsCosines: IntruderDimensions.nullMaxAbsCosines(
                    baseLeftVectors: try SVD.decompose(w0, mode: .thin).u, samples: intruderNullSamples, seed: subspaceSeed))
            }
            let intruders = try IntruderDimensions.find(base: w0, update: delta, k: k, epsilon: threshold,
                                                        nullSamples: intruderNullSamples, seed: subspaceSeed)
            let r = Swift.min(module.rank, w0.rows, w0.columns)
            let amplification = try AmplificationFactor.compute(base: w0, update: delta, rank: r, seed: subspaceSeed)
            subspace.append([
                .text(module.baseWeightName), .integer(module.rank), .integer(k), .number(threshold),
                .integer(intruders.count), .number(intruders.intruderEnergyShare), .number(intruders.null.intruderFraction),
                .number(amplification.updateNorm), .number(amplification.projectedBaseNorm), finite(amplification.amplification),
                .number(amplification.projectedBaseNormOnOwnTopSubspace), .number(amplification.projectedBaseNormOnRandomSubspaces),
            ])
        }
        if !missingBase.isEmpty {
            notes.append("Not in the base checkpoint, no adapter_subspace row (\(missingBase.count)): " + missingBase.joined(separator: ", "))
        }
        var report = AnalysisReport(analysis: "adapter-spectrum", tables: base == nil ? [spectra, values] : [spectra, values, subspace],
                                    reused: false, storage: nil, notes: notes)
        report.displayTables = base == nil ? [spectra] : [spectra, subspace]
        return report
    }

    // MARK: - tables

    static func spectrumNotes(topK: Int?) -> [String] {
        var notes = SpectrumAnalysis.measureNotes
        if topK != nil { notes.append(SpectrumAnalysis.topKNote) }
        return notes
    }

    /// a − b elementwise, same shape (`SpectrumAnalysis.difference`).
    /// Runs `body`, naming `tensor` of `source` in an SVD error (NaN, ∞, a spectrum out of float32's range).
    static func named<T>(_ tensor: String, in source: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SVDError {
            throw AnalysisError.unusableTensor(source: source, tensor: tensor, detail: "\(error)")
        }
    }

    static func difference(_ a: Tensor, _ b: Tensor) -> Tensor { SpectrumAnalysis.difference(a, b, name: "a checkpoint tensor") }

    static func finite(_ x: Double) -> TidyTable.Value { x.isFinite ? .number(x) : .missing }

    static func spectrumTable(name: String, summary: String, leading: [TidyTable.Column]) -> TidyTable {
        TidyTable(name: name, summary: summary, columns: [.init("tensor", "tensor name")] + leading + [
            .init("rows", "m"), .init("columns", "n"), .init("frobenius_norm", "‖ΔW‖_F"), .init("spectral_norm", "σ₁"),
            .init("stable_rank", "‖ΔW‖²_F / σ₁² (Rudelson & Vershynin)"), .init("effective_rank", "exp of the entropy of σ/Σσ (Roy & Vetterli)"),
            .init("energy_rank_50", "components holding 50 % of ‖ΔW‖²_F"), .init("energy_rank_90", "components holding 90 % of ‖ΔW‖²_F"),
            .init("energy_rank_99", "components holding 99 % of ‖ΔW‖²_F"), .init("numerical_rank", "σᵢ > max(m, n)·ε·σ₁"),
            .init("svd_mode", "exact or randomized"), .init("svd_relative_residual", "‖A − U_k S_k V_kᵀ‖_F / ‖A‖_F with --top-k; empty otherwise"),
        ])
    }

    /// `singular_values`, as in the study mode: one row per singular value of each tensor's ΔW.
    static func singularValueTable() -> TidyTable {
        TidyTable(name: "singular_values", summary: "one row per singular value of each tensor's ΔW", columns: [
            .init("tensor", "tensor name"), .init("index", "i from 1, descending σ"), .init("sigma", "σᵢ"),
            .init("energy_cumulative", "Σ_{j≤i} σⱼ² / ‖ΔW‖²_F"),
        ])
    }

    static func appendSingularValues(of measured: SpectrumAnalysis.Measured, tensor: String, to table: inout TidyTable) {
        let s = measured.spectrum
        var cumulative = 0.0
        for (i, sigma) in s.singularValues.enumerated() {
            cumulative += Double(sigma) * Double(sigma)
            table.append([.text(tensor), .integer(i + 1), .number(Double(sigma)),
                          s.frobeniusNormSquared > 0 ? .number(cumulative / s.frobeniusNormSquared) : .missing])
        }
    }

    static func measures(_ measured: SpectrumAnalysis.Measured) -> [TidyTable.Value] {
        let s = measured.spectrum
        func integer(_ x: Int?) -> TidyTable.Value { x.map { .integer($0) } ?? .missing }
        return [
            .integer(s.rows), .integer(s.columns), .number(s.frobeniusNormSquared.squareRoot()), .number(s.spectralNorm),
            .number(s.stableRank), .number(s.effectiveRank), integer(s.energyRank50), integer(s.energyRank90),
            integer(s.energyRank99), .integer(s.numericalRank), .text(measured.mode),
            measured.relativeResidual.map { .number($0) } ?? .missing,
        ]
    }
}
