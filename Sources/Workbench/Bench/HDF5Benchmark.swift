import Foundation
import PEFTEngine

/// HDF5 store throughput: MB/s = 4·n / seconds / 10⁶ for writing and reading one n = 1024×1024
/// Float32 dataset, stored contiguous and uncompressed ("hdf5_write"/"hdf5_read") and chunked
/// with shuffle + gzip level 4 ("hdf5_write_gzip"/"hdf5_read_gzip").
///
/// Write: the store's real path, `HDF5Transaction.write(to:)` into a new file in a temporary
/// folder — create, write the dataset, close, **fsync** the file, rename it into place and
/// fsync the folder. Read: `HDF5File.open`, `readTensor`, close; the file was just written, so
/// it comes from the page cache (this measures HDF5 and the filters, not the disk).
///
/// `fraction_of_peak` and `reference` both give context against the same run's single-threaded
/// `memcpy` bandwidth of a 64 MiB buffer (bytes copied / s, in MB/s; `reference_source` says
/// so): there is no measured h5py figure in `bench/references.json`, and a copy is the ceiling
/// for an uncompressed read.
/// Single-threaded (HDF5 is built without threads): `threads` is 1.
public struct HDF5Benchmark: Benchmark {
    public let name = "hdf5"
    public let summary = "HDF5 write (incl. close + fsync) and read MB/s of 1024×1024 Float32, plain and shuffle+gzip 4"
    /// Rows and columns of the square dataset.
    public var side: Int
    /// The side in `--quick` mode.
    public var quickSide: Int
    /// gzip level of the compressed variant.
    public var gzipLevel: Int
    /// Where the temporary folder holding the files is made (removed after the run).
    public var parent: URL

    public init(side: Int = 1024, quickSide: Int = 16, gzipLevel: Int = 4,
                parent: URL = FileManager.default.temporaryDirectory) {
        precondition(side > 0 && quickSide > 0, "HDF5Benchmark: sides must be positive")
        precondition((1...9).contains(gzipLevel), "HDF5Benchmark: gzip level \(gzipLevel) outside 1...9")
        self.side = side
        self.quickSide = quickSide
        self.gzipLevel = gzipLevel
        self.parent = parent
    }

    public func run(_ settings: BenchSettings, report: (BenchFigure) -> Void) {
        let n = settings.quick ? quickSide : side
        let tensor = Tensor(shape: [n, n], storage: BenchTiming.randomValues(n * n, seed: 5))
        let reps = settings.reps(normal: 5)
        let warmUp = !settings.quick
        let megabytes = 4 * Double(n * n) / 1e6
        let copy = Self.memcpyMegabytesPerSecond(bytes: settings.quick ? 1 << 20 : 64 << 20, reps: reps, warmUp: warmUp)
        let folder = parent.appendingPathComponent("workbench-bench-hdf5-\(getpid())-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            preconditionFailure("bench hdf5: cannot create \(folder.path): \(error)")
        }
        defer { try? FileManager.default.removeItem(at: folder) }

        for (suffix, compression, label) in [
            ("", HDF5Compression.none, "contiguous, uncompressed"),
            ("_gzip", HDF5Compression.shuffleGzip(level: gzipLevel), "chunked, shuffle + gzip \(gzipLevel)"),
        ] {
            let url = folder.appendingPathComponent("bench\(suffix).h5")
            // A store failure in a fresh temporary folder is a broken HDF5 or a full disk:
            // worth stopping the benchmark with the reason.
            let writeSeconds = BenchTiming.seconds(reps: reps, warmUp: warmUp) {
                do {
                    try HDF5Transaction.write(to: url) { root in try root.write(tensor, to: "weights", compression: compression) }
                } catch {
                    preconditionFailure("bench hdf5: writing \(url.path): \(error)")
                }
            }
            let fileBytes = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
            let readSeconds = BenchTiming.seconds(reps: reps, warmUp: warmUp) {
                do {
                    let file = try HDF5File.open(url)
                    let back = try file.root().readTensor("weights")
                    try file.close()
                    precondition(back.shape == tensor.shape, "bench hdf5: read back shape \(back.shape) from \(url.path)")
                } catch {
                    preconditionFailure("bench hdf5: reading \(url.path): \(error)")
                }
            }
            let detail = "\(n)×\(n) Float32, \(label), file \(fileBytes) B; memcpy "
                + String(format: "%.0f MB/s", copy)
            for (figureName, seconds, what) in [
                ("hdf5_write" + suffix, writeSeconds, "write incl. close + fsync + rename"),
                ("hdf5_read" + suffix, readSeconds, "read from page cache incl. open + close"),
            ] {
                var figure = BenchTiming.rateFigure(
                    name: figureName, size: n, threads: 1, unit: "MB/s", work: megabytes, seconds: seconds)
                figure.detail = "\(what); \(detail)"
                figure.fractionOfPeak = figure.best / copy
                figure.reference = copy
                figure.referenceSource = "memcpy, same run"
                report(figure)
            }
        }
    }

    /// Best MB/s (bytes copied / s / 10⁶) of one single-threaded `memcpy` of `bytes`.
    static func memcpyMegabytesPerSecond(bytes: Int, reps: Int, warmUp: Bool) -> Double {
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { source.deallocate(); destination.deallocate() }
        memset(source, 0x5A, bytes)  // touch every page so page faults are not timed
        memset(destination, 0, bytes)
        let seconds = BenchTiming.seconds(reps: reps, warmUp: warmUp) { memcpy(destination, source, bytes) }
        return Double(bytes) / 1e6 / max(seconds.min()!, 1e-12)
    }
}
