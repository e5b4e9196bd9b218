import ArgumentParser
import Foundation
import Workbench

/// `workbench nf4 RESULTS.h5`: the NF4 effect analysis (`NF4Effect`) — 4-bit quantization error
/// of the stored weights and updates, QLoRA vs LoRA on matched seeds, and what merging into a
/// 4-bit base does to accuracy.
///
/// The command only parses, calls `NF4Effect.run` and prints. `workbench nf4 --checkpoint PATH`
/// instead measures the tensors of a safetensors checkpoint (`CheckpointAnalysis.nf4`).
struct NF4Command: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nf4",
        abstract: "NF4 vs FP4 (bitsandbytes) vs E2M1 vs int4 quantization error of W0, W0 + ΔW and ΔW; QLoRA vs LoRA; the 4-bit merge problem.",
        discussion: """
            Tables: nf4_error (one row per seed, cell/stage, matrix, target, format, double_quant), \
            nf4_error_summary, qlora_vs_lora (matched seeds), nf4_merge (accuracy before/after \
            re-quantizing W = W_base + ΔW). Stored in the results file under /analysis/nf4; a second \
            run with the same options reads them back. Progress of the merge evaluations goes to stderr.
            With --checkpoint PATH (a .safetensors file or folder) instead of RESULTS: table \
            checkpoint_nf4_error, 6 rows per tensor that is 2-D or has ≥ blocksize values, selected \
            with --match REGEX; progress ("tensor i/n name") on stderr.
            """)

    @OptionGroup var options: OptionalResultsOptions

    @Option(help: "A safetensors checkpoint (file or folder) to measure instead of a results file.")
    var checkpoint: String?

    @Option(help: "Values per quantization block: a power of two from 32 to 4096.")
    var blocksize = 64

    func validate() throws {
        guard (32...4096).contains(blocksize) && blocksize & (blocksize - 1) == 0 else {
            throw ValidationError("--blocksize \(blocksize): must be a power of two from 32 to 4096")
        }
        switch (options.results, checkpoint) {
        case (nil, nil): throw ValidationError("give a results file or --checkpoint PATH")
        case (_?, _?): throw ValidationError("give either a results file or --checkpoint, not both")
        case (_?, nil):
            guard options.match == nil else { throw ValidationError("--match applies to --checkpoint; with a results file use --matrix") }
            guard options.export == nil else { throw ValidationError("--export applies to checkpoints; for a results file use `workbench export RESULTS -o DIR`") }
        case (nil, _?): try options.rejectStudyFilters()
        }
    }

    func run() throws {
        try runCommand("nf4") {
            if let checkpoint {
                let status = StatusLine()
                let report = try CheckpointAnalysis.nf4(checkpoint: try CheckpointSet(path: checkpoint), match: options.match,
                                                        blocksize: blocksize, progress: status.update)
                status.finish()
                try options.emitCheckpointReport(report, source: checkpoint)
                return
            }
            let options = self.options.analysisOptions
            let status = StatusLine()
            let results = try options.open()
            defer { results.close() }
            let report = try NF4Effect.run(
                results, filter: options.filter, options: NF4Effect.Options(blocksize: blocksize),
                recompute: options.recompute,
                progress: status.update)
            status.finish()
            try options.emit(report)
        }
    }
}
