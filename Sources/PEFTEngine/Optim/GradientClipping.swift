/// Global-norm gradient clipping (Pascanu, Mikolov & Bengio 2013), PyTorch's
/// `clip_grad_norm_` convention: with ‖g‖ the L2 norm over every trainable gradient,
/// if ‖g‖ > maxNorm all gradients are multiplied by `maxNorm / (‖g‖ + 1e-6)`.
public enum GradientClipping {
    /// PyTorch's guard term in the clip coefficient.
    public static let epsilon: Double = 1e-6

    /// Elements per block of `globalNorm`'s fixed summation tree.
    static let normBlock = 1 << 14

    /// L2 norm of `arena` over `segments`, accumulated in Double. Each segment is cut into
    /// blocks of `normBlock` elements; a block sums its squares in four interleaved Double lanes
    /// (element i into lane i mod 4, then lanes 0 + 1 + 2 + 3); block sums are added in order.
    /// The tree is fixed, so the blocks can run on any number of threads with the same result.
    public static func globalNorm(_ arena: FloatArena, segments: [TrainableSegment]) -> Double {
        let g = UnsafePointer(arena.pointer)
        var sum: Double = 0
        for s in segments {
            let blocks = (s.range.count + normBlock - 1) / normBlock
            var partial = [Double](repeating: 0, count: blocks)
            partial.withUnsafeMutableBufferPointer { partial in
                let out = partial.baseAddress!
                Parallel.forEachChunk(blocks, grain: 4) { _, chunk in
                    for b in chunk {
                        let lo = s.range.lowerBound + b * normBlock, hi = min(lo + normBlock, s.range.upperBound)
                        out[b] = blockSumOfSquares(g + lo, count: hi - lo)
                    }
                }
            }
            for p in partial { sum += p }
        }
        return sum.squareRoot()
    }

    /// Σ x² over `count` values in four interleaved Double lanes.
    @inline(__always)
    static func blockSumOfSquares(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var lanes = SIMD4<Double>()
        var i = 0
        while i + 4 <= count {
            let v = SIMD4<Double>(Double(x[i]), Double(x[i + 1]), Double(x[i + 2]), Double(x[i + 3]))
            lanes += v * v
            i += 4
        }
        while i < count {
            lanes[i % 4] += Double(x[i]) * Double(x[i])
            i += 1
        }
        return lanes[0] + lanes[1] + lanes[2] + lanes[3]
    }

    /// Multiplies the gradients of `segments` by `factor` (clipping across several arenas).
    public static func scale(_ arena: FloatArena, segments: [TrainableSegment], by factor: Float) {
        let g = arena.pointer
        for s in segments {
            Parallel.forEachChunk(s.range.count, grain: 16_384) { _, chunk in
                for i in (s.range.lowerBound + chunk.lowerBound)..<(s.range.lowerBound + chunk.upperBound) { g[i] *= factor }
            }
        }
    }

    /// Clips in place; returns the norm before clipping.
    @discardableResult
    public static func clip(_ arena: FloatArena, segments: [TrainableSegment], maxNorm: Float) -> Double {
        let norm = globalNorm(arena, segments: segments)
        if norm > Double(maxNorm) {
            scale(arena, segments: segments, by: Float(Double(maxNorm) / (norm + epsilon)))
        }
        return norm
    }
}
