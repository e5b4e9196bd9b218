/// Global-norm gradient clipping (Pascanu, Mikolov & Bengio 2013), PyTorch's
/// `clip_grad_norm_` convention: with ‖g‖ the L2 norm over every trainable gradient,
/// if ‖g‖ > maxNorm all gradients are multiplied by `maxNorm / (‖g‖ + 1e-6)`.
public enum GradientClipping {
    /// PyTorch's guard term in the clip coefficient.
    public static let epsilon: Double = 1e-6

    /// L2 norm of `arena` over `segments`, accumulated in Double.
    public static func globalNorm(_ arena: FloatArena, segments: [TrainableSegment]) -> Double {
        var sum: Double = 0
        for s in segments {
            let g = arena.pointer
            for i in s.range { sum += Double(g[i]) * Double(g[i]) }
        }
        return sum.squareRoot()
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
