import Foundation
import PEFTEngine

/// NF4 blockwise quantization throughput (QLoRA's storage, Dettmers et al. 2023): GB/s of
/// `QuantizedTensor(quantizing:)` ("nf4_quantize") and `dequantize(into:)` ("nf4_dequantize")
/// for 16M Float32 values, blocksize 64, with and without ("_dq" suffix) double quantization
/// of the absmax constants. GB/s is counted on the Float32 side, 4 bytes per value, so both directions are
/// comparable with a copy of the same tensor: GB/s = 4·n / seconds / 10⁹.
///
/// `fraction_of_peak` is that rate over the same run's memory-copy bandwidth at the same
/// thread count: `memcpy` of the 64 MiB input into a 64 MiB buffer, split into one contiguous
/// slice per worker (bytes copied / s, as in `MemcpyBenchmark`). Dequantize writes 4 bytes per
/// value and reads half a byte, so a copy is its natural ceiling.
///
/// Threads: the quantization kernels split blocks across `Parallel.workers`, which follows the
/// BLAS thread count set for each entry of `settings.threadCounts`; results are bit-identical
/// for every count.
///
/// `reference` (from `bench/references.json`, see `BenchReferences`): bitsandbytes'
/// `quantize_4bit` / `dequantize_4bit` (quant_type "nf4", blocksize 64, `compress_statistics`
/// for the "_dq" figures) on the same 16M values, measured on this machine at the same thread
/// count by `scripts/bench_pytorch.py`.
/// Targets: quantize ≥ 1 GB/s; dequantize ≥ half the copy bandwidth.
public struct NF4Benchmark: Benchmark {
    public let name = "nf4"
    public let summary = "NF4 quantize/dequantize GB/s (4 B per Float32 value), blocksize 64, ± double quant, vs memcpy"
    /// Values quantized per call.
    public var count: Int
    /// Values in `--quick` mode: a few blocks and a partial last one.
    public var quickCount: Int
    public var blocksize: Int

    public init(count: Int = 16 << 20, quickCount: Int = 5 * 64 + 37, blocksize: Int = 64) {
        precondition(count > 0 && quickCount > 0, "NF4Benchmark: counts must be positive")
        self.count = count
        self.quickCount = quickCount
        self.blocksize = blocksize
    }

    public func run(_ settings: BenchSettings, report: (BenchFigure) -> Void) {
        let n = settings.quick ? quickCount : count
        let tensor = Tensor(shape: [n], storage: BenchTiming.randomValues(n, seed: 4))
        var out = [Float](repeating: 0, count: n)  // also touches every page before timing
        let reps = settings.reps(normal: 5)
        let warmUp = !settings.quick
        let gigabytes = 4 * Double(n) / 1e9
        for threads in settings.threadCounts {
            BenchTiming.withBLASThreads(threads) {
                let copy = Self.copyBandwidth(tensor.storage, into: &out, reps: reps, warmUp: warmUp)
                for doubleQuant in [false, true] {
                    var quantized = QuantizedTensor(quantizing: tensor, format: .nf4, blocksize: blocksize, doubleQuant: doubleQuant)
                    let quantizeSeconds = BenchTiming.seconds(reps: reps, warmUp: warmUp) {
                        quantized = QuantizedTensor(quantizing: tensor, format: .nf4, blocksize: blocksize, doubleQuant: doubleQuant)
                    }
                    let dequantizeSeconds = out.withUnsafeMutableBufferPointer { buffer in
                        BenchTiming.seconds(reps: reps, warmUp: warmUp) { quantized.dequantize(into: buffer) }
                    }
                    let label = "blocksize \(blocksize)\(doubleQuant ? ", double quant" : ""); copy "
                        + String(format: "%.2f GB/s", copy) + " at \(threads) thread\(threads == 1 ? "" : "s")"
                    let suffix = doubleQuant ? "_dq" : ""
                    for (figureName, seconds) in [
                        ("nf4_quantize" + suffix, quantizeSeconds), ("nf4_dequantize" + suffix, dequantizeSeconds),
                    ] {
                        var figure = BenchTiming.rateFigure(
                            name: figureName, size: n, threads: threads, unit: "GB/s", work: gigabytes, seconds: seconds)
                        figure.detail = label
                        figure.fractionOfPeak = figure.best / copy
                        report(figure)
                    }
                }
            }
        }
    }

    /// Best GB/s (bytes copied / s) of copying `source` into `destination` with one `memcpy`
    /// per `Parallel` worker, each on a contiguous slice.
    static func copyBandwidth(_ source: [Float], into destination: inout [Float], reps: Int, warmUp: Bool) -> Double {
        precondition(source.count == destination.count, "NF4Benchmark: copy needs equal buffers")
        let bytes = 4 * source.count
        let seconds = source.withUnsafeBufferPointer { src in
            destination.withUnsafeMutableBufferPointer { dst in
                nonisolated(unsafe) let s = src.baseAddress!, d = dst.baseAddress!
                return BenchTiming.seconds(reps: reps, warmUp: warmUp) {
                    Parallel.forEachChunk(source.count, grain: 1 << 16) { _, range in
                        memcpy(d + range.lowerBound, s + range.lowerBound, 4 * range.count)
                    }
                }
            }
        }
        return Double(bytes) / 1e9 / max(seconds.min()!, 1e-12)
    }
}
