import Foundation

/// The hot loops of blockwise 4-bit quantization, shared by every `QuantFormat`.
///
/// Layout, for n values and blocksize B (even, so every block starts on a byte boundary):
/// block b covers values [b·B, min((b+1)·B, n)); value i is stored in byte i/2, in the
/// HIGH nibble if i is even and the LOW nibble if i is odd (bitsandbytes convention);
/// an odd n fills the last low nibble with the code of 0, as bitsandbytes pads.
///
/// Quantize, exactly as bitsandbytes 0.50 does on CPU (`quantize_4bit`, its default kernel):
///   a whole block:  absmax_b = max |xᵢ|, codeᵢ = bucket of xᵢ·(1/max(absmax_b, 10⁻³⁸))
///                   (multiplied by the Float32 reciprocal);
///   a short tail:   absmax_b = max(max |xᵢ|, 10⁻³⁸) (stored clamped), codeᵢ = bucket of
///                   xᵢ/absmax_b (a true division).
/// Buckets as in `Codebook` (a value on a midpoint goes to the lower level).
/// Dequantize: x̂ᵢ = levels[codeᵢ]·absmax.
/// Each block depends only on its own inputs, so splitting blocks across threads cannot
/// change a single bit of the result.
enum BlockwiseKernels {
    /// Minimum element count before work is split across threads.
    static let parallelThreshold = 1 << 16

    /// Runs `body` over contiguous ranges of blocks covering 0..<blockCount (not at all when
    /// there are none): one range per `Parallel` worker (following the BLAS thread count) once
    /// the tensor holds `parallelThreshold` elements, else one range on the calling thread.
    /// Ranges are whole blocks, so the split does not affect a single bit of the result.
    static func forEachBlockRange(blockCount: Int, elementCount: Int, _ body: (Range<Int>) -> Void) {
        if blockCount == 0 { return }
        if elementCount < parallelThreshold && Parallel.forcedWorkers == nil {
            body(0..<blockCount)
            return
        }
        Parallel.forEachChunk(blockCount) { _, blocks in body(blocks) }
    }

    /// Quantizes blocks `blocks` of `x` (n values) into `codes` and `absmax`.
    static func quantize(
        _ x: UnsafePointer<Float>, count n: Int, blocksize: Int, blocks: Range<Int>,
        codebook: Codebook, codes: UnsafeMutablePointer<UInt8>, absmax: UnsafeMutablePointer<Float>
    ) {
        // Per midpoint k: the broadcast midpoint and the code step Δₖ = code(p = k+1) − code(p = k).
        // Since x > Mₖ exactly for k < p, code(p) = code(0) + Σₖ [x > Mₖ]·Δₖ (mod 16): the
        // format's code order costs nothing extra, and all lanes stay in vector registers.
        // When every Δₖ = 1 (NF4, int4) the sum is a plain count and the mask AND is skipped.
        var m = [SIMD4<Float>](repeating: .zero, count: 15)
        var d = [SIMD4<Int32>](repeating: .zero, count: 15)
        for k in 0..<15 {
            m[k] = SIMD4(repeating: codebook.midpoints[k])
            d[k] = SIMD4(repeating: Int32(codebook.sortedCode[k + 1]) &- Int32(codebook.sortedCode[k]))
        }
        let unitSteps = (0..<14).allSatisfy { codebook.sortedCode[$0 + 1] == codebook.sortedCode[$0] + 1 }
        let base = SIMD4<Int32>(repeating: Int32(codebook.sortedCode[0]))
        m.withUnsafeBufferPointer { mv in
            d.withUnsafeBufferPointer { dv in
                let mvec = mv.baseAddress!, dvec = dv.baseAddress!
                for b in blocks {
                    let start = b * blocksize
                    let len = min(blocksize, n - start)
                    let src = x + start
                    let dst = UnsafeMutableRawPointer(codes + start / 2)
                    let a = absMax(src, len)
                    if len < blocksize {
                        tail(src, count: len, absmax: a, codebook: codebook, codes: codes + start / 2, blockAbsmax: absmax + b)
                        continue
                    }
                    absmax[b] = a
                    let inv: Float = 1 / max(a, smallestScale)
                    var i = 0
                    if unitSteps {
                        while i + 16 <= len {
                            dst.storeBytes(
                                of: codes16(src + i, inv: inv, mid: mvec, step: dvec, base: base, unitSteps: true),
                                toByteOffset: i / 2, as: SIMD8<UInt8>.self)
                            i += 16
                        }
                    } else {
                        while i + 16 <= len {
                            dst.storeBytes(
                                of: codes16(src + i, inv: inv, mid: mvec, step: dvec, base: base, unitSteps: false),
                                toByteOffset: i / 2, as: SIMD8<UInt8>.self)
                            i += 16
                        }
                    }
                    let out = codes + start / 2
                    while i < len {
                        out[i / 2] = codebook.code(nearest: src[i] * inv) << 4 | codebook.code(nearest: src[i + 1] * inv)
                        i += 2
                    }
                }
            }
        }
    }

    /// bitsandbytes clamps a block's absmax to at least this before scaling (`clamp(min=1e-38)`).
    static let smallestScale: Float = 1e-38

    /// The last block when it is shorter than the blocksize, the way bitsandbytes treats it:
    /// the stored absmax is clamped to `smallestScale` and the values are divided by it.
    static func tail(
        _ src: UnsafePointer<Float>, count len: Int, absmax a: Float, codebook: Codebook,
        codes out: UnsafeMutablePointer<UInt8>, blockAbsmax: UnsafeMutablePointer<Float>
    ) {
        let scale = max(a, smallestScale)
        blockAbsmax.pointee = scale
        var i = 0
        while i < len {
            let hi = codebook.code(nearest: src[i] / scale)
            let lo = i + 1 < len ? codebook.code(nearest: src[i + 1] / scale) : codebook.paddingCode
            out[i / 2] = hi << 4 | lo
            i += 2
        }
    }

    /// Codes of 16 consecutive values x[0..<16]·inv, packed two per byte (first in the high nibble).
    /// Four 4-lane accumulators share each midpoint load (SSE2 width, the build's baseline).
    @inline(__always)
    static func codes16(
        _ x: UnsafePointer<Float>, inv: Float, mid: UnsafePointer<SIMD4<Float>>,
        step: UnsafePointer<SIMD4<Int32>>, base: SIMD4<Int32>, unitSteps: Bool
    ) -> SIMD8<UInt8> {
        let raw = UnsafeRawPointer(x)
        let s = SIMD4<Float>(repeating: inv)
        let v0 = raw.loadUnaligned(fromByteOffset: 0, as: SIMD4<Float>.self) * s
        let v1 = raw.loadUnaligned(fromByteOffset: 16, as: SIMD4<Float>.self) * s
        let v2 = raw.loadUnaligned(fromByteOffset: 32, as: SIMD4<Float>.self) * s
        let v3 = raw.loadUnaligned(fromByteOffset: 48, as: SIMD4<Float>.self) * s
        var c = (base, base, base, base)
        // Fully unrolled: a loop over k costs a counter, a compare and a branch per midpoint
        // (about 15% of the instructions), and the compiler keeps it rolled.
        countAbove(v0, v1, v2, v3, mid, step, 0, unitSteps, &c); countAbove(v0, v1, v2, v3, mid, step, 1, unitSteps, &c)
        countAbove(v0, v1, v2, v3, mid, step, 2, unitSteps, &c); countAbove(v0, v1, v2, v3, mid, step, 3, unitSteps, &c)
        countAbove(v0, v1, v2, v3, mid, step, 4, unitSteps, &c); countAbove(v0, v1, v2, v3, mid, step, 5, unitSteps, &c)
        countAbove(v0, v1, v2, v3, mid, step, 6, unitSteps, &c); countAbove(v0, v1, v2, v3, mid, step, 7, unitSteps, &c)
        countAbove(v0, v1, v2, v3, mid, step, 8, unitSteps, &c); countAbove(v0, v1, v2, v3, mid, step, 9, unitSteps, &c)
        countAbove(v0, v1, v2, v3, mid, step, 10, unitSteps, &c); countAbove(v0, v1, v2, v3, mid, step, 11, unitSteps, &c)
        countAbove(v0, v1, v2, v3, mid, step, 12, unitSteps, &c); countAbove(v0, v1, v2, v3, mid, step, 13, unitSteps, &c)
        countAbove(v0, v1, v2, v3, mid, step, 14, unitSteps, &c)
        let (c0, c1, c2, c3) = c
        let lo = SIMD8(lowHalf: c0, highHalf: c1) & 15, hi = SIMD8(lowHalf: c2, highHalf: c3) & 15
        let bytesLo = (lo.evenHalf &<< 4) | lo.oddHalf
        let bytesHi = (hi.evenHalf &<< 4) | hi.oddHalf
        return SIMD8<UInt8>(truncatingIfNeeded: SIMD8(lowHalf: bytesLo, highHalf: bytesHi))
    }

    /// Adds midpoint k's code step to each lane of the four accumulators where the value is
    /// above Mₖ (with unit steps: subtracts the all-ones compare mask, i.e. adds 1).
    @inline(__always)
    static func countAbove(
        _ v0: SIMD4<Float>, _ v1: SIMD4<Float>, _ v2: SIMD4<Float>, _ v3: SIMD4<Float>,
        _ mid: UnsafePointer<SIMD4<Float>>, _ step: UnsafePointer<SIMD4<Int32>>, _ k: Int, _ unitSteps: Bool,
        _ c: inout (SIMD4<Int32>, SIMD4<Int32>, SIMD4<Int32>, SIMD4<Int32>)
    ) {
        let mk = mid[k]
        let g0 = unsafeBitCast(v0 .> mk, to: SIMD4<Int32>.self)
        let g1 = unsafeBitCast(v1 .> mk, to: SIMD4<Int32>.self)
        let g2 = unsafeBitCast(v2 .> mk, to: SIMD4<Int32>.self)
        let g3 = unsafeBitCast(v3 .> mk, to: SIMD4<Int32>.self)
        if unitSteps {
            c.0 &-= g0; c.1 &-= g1; c.2 &-= g2; c.3 &-= g3  // mask lanes are −1 where x > Mₖ
        } else {
            let dk = step[k]
            c.0 &+= g0 & dk; c.1 &+= g1 & dk; c.2 &+= g2 & dk; c.3 &+= g3 & dk
        }
    }

    /// max |xᵢ| over len values: |x| by clearing the sign bit, 4 lanes × 2 accumulators,
    /// then a scalar tail. The lane max is a float select `u > acc ? u : acc`, which compiles
    /// to one `maxps` (SSE has no signed 32-bit integer max before SSE4.1, so an integer max
    /// costs a compare and three mask operations). For the sign-cleared, finite inputs this
    /// equals the maximum of the bit patterns, i.e. `plainAbsMax` bit for bit. (The standard
    /// library's generic `pointwiseMax` is ~10× slower here.)
    @inline(__always)
    static func absMax(_ x: UnsafePointer<Float>, _ len: Int) -> Float {
        let raw = UnsafeRawPointer(x)
        let magnitude = SIMD4<UInt32>(repeating: 0x7fff_ffff)
        var acc0 = SIMD4<Float>.zero, acc1 = SIMD4<Float>.zero
        var i = 0
        while i + 8 <= len {
            let u0 = unsafeBitCast(raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD4<UInt32>.self) & magnitude, to: SIMD4<Float>.self)
            let u1 = unsafeBitCast(raw.loadUnaligned(fromByteOffset: 4 * i + 16, as: SIMD4<UInt32>.self) & magnitude, to: SIMD4<Float>.self)
            acc0.replace(with: u0, where: u0 .> acc0)
            acc1.replace(with: u1, where: u1 .> acc1)
            i += 8
        }
        acc0.replace(with: acc1, where: acc1 .> acc0)
        var best = max(max(acc0[0], acc0[1]), max(acc0[2], acc0[3]))
        while i < len {
            best = max(best, abs(x[i]))
            i += 1
        }
        return best
    }

    /// Dequantizes blocks `blocks` into `out` (n values), the absmax of block b given by `scale(b)`.
    @inline(__always)
    static func dequantize(
        _ codes: UnsafePointer<UInt8>, count n: Int, blocksize: Int, blocks: Range<Int>,
        pairs: UnsafePointer<SIMD2<Float>>, scale: (Int) -> Float, into out: UnsafeMutablePointer<Float>
    ) {
        for b in blocks {
            let start = b * blocksize
            let len = min(blocksize, n - start)
            let a = scale(b)
            let src = codes + start / 2
            let dst = UnsafeMutableRawPointer(out + start)
            let fullBytes = len / 2
            var j = 0
            while j + 4 <= fullBytes {
                let v0 = pairs[Int(src[j])], v1 = pairs[Int(src[j + 1])]
                let v2 = pairs[Int(src[j + 2])], v3 = pairs[Int(src[j + 3])]
                let lo = SIMD4(v0.x, v0.y, v1.x, v1.y) * a
                let hi = SIMD4(v2.x, v2.y, v3.x, v3.y) * a
                dst.storeBytes(of: SIMD8(lowHalf: lo, highHalf: hi), toByteOffset: 8 * j, as: SIMD8<Float>.self)
                j += 4
            }
            while j < fullBytes {
                let v = pairs[Int(src[j])] * a
                dst.storeBytes(of: v, toByteOffset: 8 * j, as: SIMD2<Float>.self)
                j += 1
            }
            if len & 1 == 1 {
                out[start + len - 1] = pairs[Int(src[fullBytes])].x * a
            }
        }
    }
}

/// Carries a value the compiler cannot prove Sendable into `concurrentPerform`; used only
/// where each iteration touches disjoint memory.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
