import Foundation

/// Memory copy bandwidth: GB/s = bytes copied / seconds / 10⁹ for one `memcpy` of a buffer far
/// larger than the caches (256 MiB). Counts the bytes copied once (each is read and written).
/// Single-threaded: `threads` in the figure is 1.
public struct MemcpyBenchmark: Benchmark {
    public let name = "memcpy"
    public let summary = "memcpy GB/s of a 256 MiB buffer (bytes copied / s)"
    public var bytes: Int
    public var quickBytes: Int

    public init(bytes: Int = 256 << 20, quickBytes: Int = 1 << 20) {
        self.bytes = bytes
        self.quickBytes = quickBytes
    }

    public func run(_ settings: BenchSettings, report: (BenchFigure) -> Void) {
        let count = settings.quick ? quickBytes : bytes
        let source = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64)
        let destination = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64)
        defer { source.deallocate(); destination.deallocate() }
        // Touch every page first so page faults are not timed.
        memset(source, 0x5A, count)
        memset(destination, 0, count)
        let seconds = BenchTiming.seconds(reps: settings.reps(normal: 5), warmUp: !settings.quick) {
            memcpy(destination, source, count)
        }
        report(BenchTiming.rateFigure(
            name: name, size: count, threads: 1, unit: "GB/s", work: Double(count) / 1e9,
            seconds: seconds))
    }
}
