import Analysis
import Foundation
import PEFTEngine

/// `workbench nf4 --checkpoint`: the 4-bit error analysis on a checkpoint.
extension CheckpointAnalysis {
    // MARK: - NF4

    /// NF4 / FP4 / E2M1 / Int4 error, without and with double quantization, of every tensor of
    /// `checkpoint` that is 2-D or has at least `blocksize` values (and matches `match`):
    /// 6 rows per tensor in table `checkpoint_nf4_error`.
    public static func nf4(checkpoint: some TensorSource, match: String? = nil, blocksize: Int = 64,
                           progress: Progress? = nil) throws -> AnalysisReport {
        guard QuantizedTensor.isValidBlocksize(blocksize) else {
            throw AnalysisError.invalidOption(name: "blocksize", value: String(blocksize), reason: "must be a power of two from 32 to 4096")
        }
        let filter = try NameFilter(match)
        var selected: [String] = [], skipped: [String] = []
        for name in checkpoint.names where filter.selects(name) {
            let info = try checkpoint.info(name)
            if info.shape.count == 2 || info.elementCount >= blocksize { selected.append(name) } else { skipped.append(name) }
        }
        guard !selected.isEmpty else {
            throw AnalysisError.nothingSelected(path: describe(checkpoint), filters: filter.description + " (2-D tensors or ≥ \(blocksize) values)")
        }
        var notes = [
            "mse = mean (w − ŵ)²; relative_frobenius = ‖W − Ŵ‖_F / ‖W‖_F; block_max_*: statistics over blocks of max |w − ŵ|; bits_per_parameter includes the block scales.",
            "Formats: nf4 (QLoRA NormalFloat, Dettmers et al. 2023) and fp4 (levels {0, 0.0625, 2, 3, 4, 6, 8, 12}/12), both bitsandbytes 0.50's bit for bit; e2m1 (the OCP MX E2M1 grid {0, 0.5, 1, 1.5, 2, 3, 4, 6}/6); int4 (symmetric absmax, levels q/7); double_quant quantizes the block absmaxes to 8 bits (blocks of 256) as bitsandbytes does. Codebook version \(QuantFormat.tableVersion).",
        ]
        if !skipped.isEmpty { notes.append("Neither 2-D nor ≥ \(blocksize) values, skipped (\(skipped.count)): " + skipped.joined(separator: ", ")) }
        var table = TidyTable(name: "checkpoint_nf4_error", summary: "one row per tensor × format × double_quant", columns: [
            .init("tensor", "tensor name"), .init("elements", "number of values n"), .init("format", "nf4, fp4 (bitsandbytes), e2m1 (OCP MX) or int4"),
            .init("double_quant", "1 when the block absmaxes are quantized too"), .init("blocksize", "values per block B"),
            .init("mse", "(1/n)·Σ (w − ŵ)²"), .init("relative_frobenius", "‖W − Ŵ‖_F / ‖W‖_F"),
            .init("block_max_mean", "mean over blocks of max |w − ŵ|"), .init("block_max_p50", "median of the block maxima"),
            .init("block_max_p90", "90th percentile of the block maxima"), .init("block_max_max", "largest block maximum"),
            .init("bits_per_parameter", "stored bits per value"),
        ])
        var nonFinite: [String] = []
        for (i, name) in selected.enumerated() {
            progress?("tensor \(i + 1)/\(selected.count) \(name)")
            let tensor = try checkpoint.tensor(named: name)
            // NaN or ∞ has no quantization error (an all-NaN tensor would report 0): named, no rows.
            if let bad = tensor.storage.firstIndex(where: { !$0.isFinite }) {
                nonFinite.append("\(name) (value \(tensor.storage[bad]) at flat index \(bad))")
                continue
            }
            for e in NF4ErrorMeasurement.measure([(name: name, tensor: tensor)], blocksize: blocksize) {
                table.append([
                    .text(e.name), .integer(e.elements), .text(e.format.rawValue), .integer(e.doubleQuant ? 1 : 0), .integer(e.blocksize),
                    .number(e.mse), .number(e.relativeFrobenius), .number(e.blockMaxMean), .number(e.blockMaxP50),
                    .number(e.blockMaxP90), .number(e.blockMaxMax), .number(e.bitsPerParameter),
                ])
            }
        }
        if !nonFinite.isEmpty {
            guard nonFinite.count < selected.count else {
                throw AnalysisError.invalidOption(name: "checkpoint", value: describe(checkpoint),
                                                  reason: "every selected tensor holds NaN or ∞: " + nonFinite.joined(separator: ", "))
            }
            notes.append("Non-finite values, no quantization error measured (\(nonFinite.count)): " + nonFinite.joined(separator: ", "))
        }
        return AnalysisReport(analysis: "checkpoint-nf4", tables: [table], reused: false, storage: nil, notes: notes)
    }
}
