import Foundation

/// The masked cross-entropy of `CrossEntropy` with ONE [N, V] buffer, for wide vocabularies
/// (LLaMA's 49,152 columns: a second and third B·T·V buffer would be 400 MB at B 8, T 128).
///
/// Forward reads the logits and keeps only each row's loss; backward turns the logits, in
/// place, into their gradient `dloss · mask[n] / Σ mask · (softmax(z_n) − onehot(target_n))`
/// (rows with mask 0 become 0). The exponentials are the same `FastExp.exp` lanes in the same
/// order as `CrossEntropy.forward`, so the loss is bit-identical to it.
extension CrossEntropy {
    /// Per-row losses into `losses` (every row) and the masked mean; logits untouched.
    @discardableResult
    static func forwardKeepingLogits(
        losses: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>,
        targets: UnsafePointer<Int32>, mask: UnsafePointer<Float>, N: Int, V: Int
    ) -> Float {
        Parallel.forEachChunk(N, grain: grain) { _, rows in
            for n in rows {
                let z = logits + n * V
                let (maxZ, sum) = FastExp.shiftedSum(z, count: V)
                let target = Int(targets[n])
                if mask[n] != 0 {
                    precondition(target >= 0 && target < V, "CrossEntropy: target \(target) at row \(n) outside 0..<\(V)")
                }
                losses[n] = (target >= 0 && target < V) ? -(z[target] - maxZ - logf(sum)) : 0
            }
        }
        var total: Double = 0, weight: Double = 0
        for n in 0..<N {
            total += Double(mask[n]) * Double(losses[n])
            weight += Double(mask[n])
        }
        return weight == 0 ? 0 : Float(total / weight)
    }

    /// Overwrites `logits` [N, V] with dLoss/dlogits for upstream gradient `dloss`.
    static func backwardInPlace(
        logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>, mask: UnsafePointer<Float>,
        dloss: Float, N: Int, V: Int
    ) {
        var weight: Double = 0
        for n in 0..<N { weight += Double(mask[n]) }
        let scale = weight == 0 ? 0 : dloss / Float(weight)
        Parallel.forEachChunk(N, grain: grain) { _, rows in
            for n in rows {
                let z = logits + n * V
                guard mask[n] != 0, scale != 0 else {
                    z.update(repeating: 0, count: V)
                    continue
                }
                let s = scale * mask[n]
                let sum = FastExp.exponentiate(out: z, x: z, count: V).sum
                let factor = s / sum
                for i in 0..<V { z[i] *= factor }
                z[Int(targets[n])] -= s
            }
        }
    }
}
