/// Plain-loop references for `BlockwiseKernels`: the definitions the fast paths must match
/// bit for bit (same formulas, same Float32 operations in the same order, no SIMD, no threads).
///
/// For block b of values [b·B, min((b+1)·B, n)):
///     a whole block:  absmax_b = max |xᵢ|, codeᵢ = `Codebook.code(nearest: xᵢ·(1/max(absmax_b, 10⁻³⁸)))`;
///     a short tail:   absmax_b = max(max |xᵢ|, 10⁻³⁸), codeᵢ = `Codebook.code(nearest: xᵢ/absmax_b)`;
///     packed first-in-high-nibble, an odd count padded with the code of 0;
///     x̂ᵢ = levels[codeᵢ]·absmax_b.
enum BlockwiseReference {
    /// Codes and absmax of `x` for `format` and `blocksize`, one value at a time.
    static func quantize(_ x: [Float], format: QuantFormat, blocksize: Int) -> (codes: [UInt8], absmax: [Float]) {
        precondition(blocksize > 0 && blocksize % 2 == 0, "BlockwiseReference.quantize: blocksize \(blocksize) must be even")
        let codebook = Codebook.of(format)
        let n = x.count
        var codes = [UInt8](repeating: 0, count: (n + 1) / 2)
        var absmax = [Float](repeating: 0, count: (n + blocksize - 1) / blocksize)
        for b in 0..<absmax.count {
            let lo = b * blocksize, hi = min(lo + blocksize, n)
            var a: Float = 0
            for i in lo..<hi { a = max(a, abs(x[i])) }
            let isTail = hi - lo < blocksize
            if isTail { a = max(a, 1e-38) }
            absmax[b] = a
            let inv: Float = 1 / max(a, 1e-38)
            for i in lo..<hi {
                let code = codebook.code(nearest: isTail ? x[i] / a : x[i] * inv)
                codes[i / 2] |= i % 2 == 0 ? code << 4 : code
            }
        }
        if n % 2 == 1 { codes[n / 2] |= codebook.paddingCode }
        return (codes, absmax)
    }

    /// x̂ᵢ = levels[codeᵢ]·scale(i / blocksize) for n values.
    static func dequantize(
        codes: [UInt8], count n: Int, format: QuantFormat, blocksize: Int, scale: (Int) -> Float
    ) -> [Float] {
        let levels = format.levels
        return (0..<n).map { i in
            let code = i % 2 == 0 ? codes[i / 2] >> 4 : codes[i / 2] & 0x0F
            return levels[Int(code)] * scale(i / blocksize)
        }
    }
}
