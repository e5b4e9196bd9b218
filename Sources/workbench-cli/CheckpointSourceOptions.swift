import ArgumentParser
import Foundation
import Workbench

/// The checkpoint modes shared by `spectrum` and `report`: `--base B --tuned T` (two safetensors
/// checkpoints) or `--adapter A [--base B]` (a peft adapter, with its base for intruders).
struct CheckpointSourceOptions: ParsableArguments {
    @Option(help: "Base checkpoint: a .safetensors file or a folder (model.safetensors or a sharded index).")
    var base: String?

    @Option(help: "Fine-tuned checkpoint of the same model, compared with --base.")
    var tuned: String?

    @Option(help: "A peft adapter folder (adapter_config.json + adapter_model.safetensors).")
    var adapter: String?

    var isGiven: Bool { base != nil || tuned != nil || adapter != nil }

    /// The source's short name for titles: the adapter folder's or the tuned checkpoint's.
    var sourceName: String { URL(fileURLWithPath: adapter ?? tuned ?? base ?? "").lastPathComponent }

    /// Exactly one mode: a results file, or these options in a valid combination.
    func validate(resultsGiven: Bool) throws {
        if resultsGiven {
            guard !isGiven else { throw ValidationError("give either a results file or --base/--tuned/--adapter, not both") }
            return
        }
        guard isGiven else { throw ValidationError("give a results file, --base B --tuned T, or --adapter A [--base B]") }
        if adapter != nil {
            guard tuned == nil else { throw ValidationError("--tuned does not go with --adapter (the adapter is the fine-tune)") }
        } else {
            guard base != nil, tuned != nil else { throw ValidationError("--base and --tuned go together (or use --adapter)") }
        }
    }

    /// The spectrum analysis of the checkpoints (`CheckpointAnalysis`), with progress on a status line.
    func spectrum(match: String?, topK: Int? = nil, intruderK: Int = 10, epsilon: Double? = nil) throws -> AnalysisReport {
        let status = StatusLine()
        defer { status.finish() }
        if let adapter {
            return try CheckpointAnalysis.spectrum(
                adapter: try PEFTAdapter(folder: adapter), base: try base.map { try CheckpointSet(path: $0) },
                match: match, topK: topK, intruderK: intruderK, epsilon: epsilon, progress: status.update)
        }
        return try CheckpointAnalysis.spectrum(
            base: try CheckpointSet(path: base!), tuned: try CheckpointSet(path: tuned!),
            match: match, topK: topK, progress: status.update)
    }
}
