import Foundation

/// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019),
/// PyTorch `torch.optim.AdamW` semantics. At step t = 1, 2, … for each trainable w with gradient g:
///
///     m ← β1·m + (1 − β1)·g            v ← β2·v + (1 − β2)·g²
///     m̂ = m / (1 − β1ᵗ)                v̂ = v / (1 − β2ᵗ)
///     w ← w − lr·wd·w − lr·m̂ / (√v̂ + ε)
///
/// Weight decay applies only to views with `decays == true` (linear weights and
/// lm_head); biases, LayerNorm parameters and embeddings are not decayed by default.
/// Moments mirror the parameter arena, so the update is one flat loop per trainable segment.
public final class AdamW {
    public struct Hyperparameters: Equatable, Sendable {
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-8
        public var weightDecay: Float = 0.01
        /// Also decay views whose `decays` is false (biases, norms, embeddings).
        public var decayAllParameters = false

        public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                    weightDecay: Float = 0.01, decayAllParameters: Bool = false) {
            self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
            self.weightDecay = weightDecay; self.decayAllParameters = decayAllParameters
        }
    }

    public var hyperparameters: Hyperparameters
    /// Elements per chunk below which a segment is updated on one thread.
    static let grain = 16_384
    /// First and second moments, same layout as the parameter arena.
    public let m: FloatArena, v: FloatArena
    /// Updates done so far (t of the bias correction after the next step is `step + 1`).
    public private(set) var step = 0

    public init(parameterCount: Int, hyperparameters: Hyperparameters = Hyperparameters()) {
        self.hyperparameters = hyperparameters
        m = FloatArena(count: parameterCount)
        v = FloatArena(count: parameterCount)
    }

    /// One update of `values` from `gradients` over `segments` at learning rate `lr`.
    public func update(values: FloatArena, gradients: FloatArena, segments: [TrainableSegment], lr: Float) {
        precondition(values.count == m.count && gradients.count == m.count,
                     "AdamW: arena sizes \(values.count)/\(gradients.count) differ from moments \(m.count)")
        step += 1
        let h = hyperparameters
        let t = Double(step)
        let correction1 = Float(1 - pow(Double(h.beta1), t))
        let correction2 = Float(1 - pow(Double(h.beta2), t))
        let w = values.pointer, g = gradients.pointer, mp = m.pointer, vp = v.pointer
        let beta1 = h.beta1, beta2 = h.beta2, epsilon = h.epsilon
        for s in segments {
            let decay = (s.decays || h.decayAllParameters) ? lr * h.weightDecay : 0
            // Elements are independent: chunks of a segment give the serial loop's values.
            Parallel.forEachChunk(s.range.count, grain: Self.grain) { _, chunk in
                let lo = s.range.lowerBound + chunk.lowerBound, hi = s.range.lowerBound + chunk.upperBound
                for i in lo..<hi {
                    let gi = g[i]
                    let mi = beta1 * mp[i] + (1 - beta1) * gi
                    let vi = beta2 * vp[i] + (1 - beta2) * gi * gi
                    mp[i] = mi
                    vp[i] = vi
                    let mHat = mi / correction1
                    let vHat = vi / correction2
                    w[i] -= decay * w[i] + lr * mHat / (vHat.squareRoot() + epsilon)
                }
            }
        }
    }
}
