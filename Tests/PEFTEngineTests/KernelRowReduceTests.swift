import Testing
@testable import PEFTEngine

/// `RowReduce` (eight-lane partial sums) against its serial loops on odd lengths: tail only,
/// exactly one vector, vectors plus a tail.
@Suite struct KernelRowReduceTests {
    @Test(arguments: [0, 1, 7, 8, 13, 64, 129])
    func matchesSerialSums(count n: Int) {
        var r = TestRandom(seed: UInt64(70 + n))
        let a = r.normals(n, scale: 3), b = r.normals(n)
        let tolerance: Float = 1e-5 * Float(max(n, 1))
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                let pa = a.baseAddress ?? UnsafePointer(bitPattern: 16)!, pb = b.baseAddress ?? UnsafePointer(bitPattern: 16)!
                let sum = RowReduce.sum(pa, count: n), sumRef = RowReduce.sumReference(pa, count: n)
                #expect(abs(sum - sumRef) <= tolerance, "sum \(sum) vs \(sumRef), n = \(n)")
                let dot = RowReduce.dot(pa, pb, count: n), dotRef = RowReduce.dotReference(pa, pb, count: n)
                #expect(abs(dot - dotRef) <= tolerance, "dot \(dot) vs \(dotRef), n = \(n)")
                let m: Float = 0.25
                var sqRef: Float = 0
                for i in 0..<n { sqRef += (pa[i] - m) * (pa[i] - m) }
                let sq = RowReduce.squaredDeviations(pa, from: m, count: n)
                #expect(abs(sq - sqRef) <= tolerance * 4, "squared deviations \(sq) vs \(sqRef), n = \(n)")
            }
        }
    }
}
