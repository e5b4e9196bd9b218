import Analysis
import Foundation
import PEFTEngine

/// The analyses of `workbench spectrum` and `workbench nf4` applied to real fine-tunes stored as
/// safetensors checkpoints (`TensorSource`) or Hugging Face peft LoRA/DoRA adapters (`PEFTAdapter`)
/// instead of a study results file.
///
/// - `spectrum(base:tuned:…)`: ΔW = W_tuned − W_base for every 2-D tensor present in both with one
///   shape, and its `RankSpectrum` (the measures of `SpectrumAnalysis`).
/// - `spectrum(adapter:base:…)`: ΔW = s·B·A of every adapted module (`PEFTAdapter.delta(for:)`);
///   with a base checkpoint also the intruder dimensions of W0 + ΔW (Shuttleworth et al. 2024) and
///   the amplification factor of ΔW at the module's rank r (Hu et al. 2021, §7.3).
/// - `nf4(checkpoint:…)`: the 4-bit quantization error of every tensor (`NF4ErrorMeasurement`).
///
/// Tensors are read, measured and dropped one at a time, so memory stays at a few matrices
/// whatever the checkpoint size. Nothing is stored (`AnalysisReport.storage` is nil).
public enum CheckpointAnalysis {
    /// Receives one line per tensor: "tensor i/n name".
    public typealias Progress = (String) -> Void

    /// Random unit vectors of the intruder-dimension null statistic.
    public static let intruderNullSamples = 1000
    /// Seed of the intruder null vectors and of the amplification factor's random subspaces.
    public static let subspaceSeed: UInt64 = 0

    // MARK: - helpers

    /// `--match`: a regular expression searched anywhere in a tensor name; nil selects all.
    struct NameFilter: CustomStringConvertible {
        let pattern: String?
        let regex: Regex<AnyRegexOutput>?

        init(_ pattern: String?) throws {
            self.pattern = pattern
            guard let pattern else { regex = nil; return }
            do { regex = try Regex(pattern) } catch {
                throw AnalysisError.invalidOption(name: "match", value: pattern, reason: "not a regular expression: \(error)")
            }
        }

        func selects(_ name: String) -> Bool {
            guard let regex else { return true }
            return name.contains(regex)
        }

        var description: String { pattern.map { "--match \($0)" } ?? "no filter" }
    }

    static func validate(topK: Int?) throws {
        if let topK, topK < 1 {
            throw AnalysisError.invalidOption(name: "top-k", value: String(topK), reason: "must be ≥ 1")
        }
    }

    static func describe(_ source: some TensorSource) -> String {
        if let set = source as? CheckpointSet { return set.path }
        if let file = source as? SafetensorsFile { return file.path }
        return "checkpoint"
    }
}
