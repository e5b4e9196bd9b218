import Testing
@testable import PEFTEngine

@Suite("Kernels: cache warming")
struct KernelCacheWarmingTests {
    @Test("touch reads one value per 64-byte line, x[0], x[16], …, and adds their sum to the sink",
          arguments: [0, 1, 16, 17, 40])
    func touchSumsOneValuePerLine(count: Int) {
        let x = (0..<max(count, 1)).map { Float($0 + 1) }
        var sink: Float = 0.5
        CacheWarming.touch(x, count: count, sink: &sink)
        let expected = stride(from: 0, to: count, by: 16).reduce(Float(0.5)) { $0 + x[$1] }
        #expect(sink == expected)
    }
}
