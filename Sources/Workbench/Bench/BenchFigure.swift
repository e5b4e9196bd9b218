import Foundation

/// One measured figure of `workbench bench`: printed as one JSON line on stdout.
///
/// `best` is the best repetition (highest rate, or shortest time for unit "s"), `median` the
/// median over `reps` repetitions, and `value` repeats `best` as the headline number.
public struct BenchFigure: Codable, Sendable, Equatable {
    /// Which measurement, e.g. "sgemm", "sgesdd_values", "sgesdd_full", "memcpy".
    public var name: String
    /// Problem size: n for n×n matrices, bytes for memory copies.
    public var size: Int
    /// OpenBLAS threads during the measurement.
    public var threads: Int
    /// `ProcessInfo.activeProcessorCount`.
    public var cores: Int
    /// `BLAS.kernelName` during the measurement.
    public var blasKernel: String
    /// The headline number (= `best`).
    public var value: Double
    /// "GFLOP/s", "GB/s" or "s".
    public var unit: String
    /// Timed repetitions (after one untimed warm-up unless `--quick`).
    public var reps: Int
    public var best: Double
    public var median: Double
    /// What exactly was measured when `name` and `size` do not say it all (e.g. the method's
    /// label and the model shape of a training figure); absent from the JSON when nil.
    public var detail: String?
    /// The figure as a fraction of the same run's measured limit (e.g. model FLOP/s over
    /// sgemm GFLOP/s at the same thread count); absent when nil.
    public var fractionOfPeak: Double?
    /// The fine-tuning method's registry name ("full", "lora", …) for per-method figures
    /// (training, evaluation); absent when nil.
    public var method: String?
    /// What the tool researchers would otherwise use reaches on this machine, in the same unit
    /// and defined like `value` (best repetition): from `bench/references.json`
    /// (`BenchReferences`), or a same-run measurement named by `referenceSource`; absent when nil.
    public var reference: Double?
    /// Where `reference` comes from: the tool and the references file, or the same-run figure.
    public var referenceSource: String?
    /// Milliseconds of the best repetition's phases, for figures that have them (training:
    /// "forward", "backward", "update", see `Trainer.StepTimes`); absent when nil.
    public var phaseMilliseconds: [String: Double]?
    /// For a training figure of a method other than full fine-tuning: its best tokens/s over
    /// full fine-tuning's, same shape and threads, steps interleaved (`TrainingBenchmark`);
    /// absent when nil.
    public var versusFull: Double?
    /// Peak resident memory (MiB) of the process while the figure was measured, for figures
    /// that own their memory (`LlamaTrainingBenchmark`); absent when nil.
    public var peakResidentMB: Double?
    /// The other tool's peak resident memory (MiB) for the same work, from the references.
    public var referencePeakResidentMB: Double?

    enum CodingKeys: String, CodingKey {
        case name, size, threads, cores, blasKernel = "blas_kernel", value, unit, reps, best, median
        case detail, fractionOfPeak = "fraction_of_peak", method, reference, referenceSource = "reference_source"
        case phaseMilliseconds = "phase_ms", versusFull = "vs_full"
        case peakResidentMB = "peak_rss_mb", referencePeakResidentMB = "reference_peak_rss_mb"
    }

    public init(
        name: String, size: Int, threads: Int, cores: Int, blasKernel: String,
        unit: String, reps: Int, best: Double, median: Double
    ) {
        self.name = name; self.size = size; self.threads = threads; self.cores = cores
        self.blasKernel = blasKernel; self.value = best; self.unit = unit; self.reps = reps
        self.best = best; self.median = median
    }

    /// The figure as one line of JSON (keys sorted, no trailing newline).
    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings and finite numbers cannot fail.
        let data = try! encoder.encode(self)
        return String(decoding: data, as: UTF8.self)
    }
}
