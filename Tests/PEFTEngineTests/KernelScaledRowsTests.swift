import Testing
@testable import PEFTEngine

/// `ScaledRows` (IA3's and DoRA's row kernels) against their plain loops, on lengths that are
/// tail-only, one vector, and both.
@Suite struct KernelScaledRowsTests {
    @Test(arguments: [1, 7, 8, 13, 16])
    func fusedRowMatchesItsPlainLoopReference(_ n: Int) {
        var r = TestRandom(seed: UInt64(n))
        let a = r.normals(n), b = r.normals(n), scale = r.normals(n), acc0 = r.normals(n), out0 = r.normals(n)
        for accumulate in [false, true] {
            var acc = acc0, out = out0, accRef = acc0, outRef = out0
            ScaledRows.fusedRow(n: n, b: b, a: a, acc: &acc, scale: scale, out: &out, accumulateOut: accumulate)
            ScaledRows.fusedRowReference(n: n, b: b, a: a, acc: &accRef, scale: scale, out: &outRef, accumulateOut: accumulate)
            #expect(acc == accRef && out == outRef, "n = \(n), accumulateOut = \(accumulate)")
        }
        var acc = acc0, accRef = acc0
        ScaledRows.accumulateProducts(n: n, a: a, b: b, acc: &acc)
        for i in 0..<n { accRef[i] += a[i] * b[i] }
        #expect(acc == accRef, "accumulateProducts, n = \(n)")
    }

    @Test(arguments: [1, 7, 8, 13, 16])
    func cacheAndScaleMatchesItsPlainLoopReference(_ n: Int) {
        var r = TestRandom(seed: UInt64(100 + n))
        let y0 = r.normals(n), scale = r.normals(n), shift = r.normals(n)
        for shifted in [false, true] {
            var y = y0, cache = [Float](repeating: 0, count: n), yRef = y0, cacheRef = cache
            shift.withUnsafeBufferPointer { s in
                let b = shifted ? s.baseAddress : nil
                ScaledRows.cacheAndScale(n: n, y: &y, cache: &cache, scale: scale, shift: b)
                ScaledRows.cacheAndScaleReference(n: n, y: &yRef, cache: &cacheRef, scale: scale, shift: b)
            }
            #expect(cache == y0 && cacheRef == y0, "the cache holds the unscaled rows")
            #expect(y == yRef, "n = \(n), shift = \(shifted)")
            #expect(zip(y, y0).enumerated().allSatisfy { i, p in p.0 == p.1 * scale[i] + (shifted ? shift[i] : 0) })
        }
    }
}
