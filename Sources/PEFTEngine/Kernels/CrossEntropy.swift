import Foundation

/// Softmax cross-entropy with a per-token mask:
/// `loss = Σ_n mask[n] · (−log softmax(logits[n])[target[n]]) / Σ_n mask[n]`.
///
/// Only masked-in tokens (mask > 0) count; the mask may weight tokens. When Σ mask = 0
/// the loss is defined as 0 and the gradient is 0.
///
/// The per-row softmax and gradient rows are split over `Parallel` chunks; the sums over
/// rows (loss, Σ mask) stay serial in row order, so results are bit-identical to
/// `forwardReference`/`backwardReference` for every thread count.
enum CrossEntropy {
    /// Rows per chunk below which a call stays on one thread.
    static let grain = 32

    /// - logits: [N, V] (N = B·T); probs: [N, V] softmax output, cached for backward
    /// - targets: [N] in 0..<V (read only where mask ≠ 0); mask: [N]
    /// - losses: [N] per-token negative log-likelihood (computed for every token)
    /// - returns the masked mean, accumulated in Double.
    @discardableResult
    static func forward(
        probs: UnsafeMutablePointer<Float>, losses: UnsafeMutablePointer<Float>,
        logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, mask: UnsafePointer<Float>, N: Int, V: Int
    ) -> Float {
        Parallel.forEachChunk(N, grain: grain) { _, rows in
            forwardRows(rows, probs: probs, losses: losses, logits: logits, targets: targets, mask: mask, V: V)
        }
        return maskedMean(losses: losses, mask: mask, N: N)
    }

    /// Accumulates `dlogits[n] += dloss · mask[n] / Σ mask · (probs[n] − onehot(target[n]))`.
    static func backward(
        dlogits: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>,
        targets: UnsafePointer<Int32>, mask: UnsafePointer<Float>, dloss: Float, N: Int, V: Int
    ) {
        var weight: Double = 0
        for n in 0..<N { weight += Double(mask[n]) }
        if weight == 0 { return }
        let scale = dloss / Float(weight)
        Parallel.forEachChunk(N, grain: grain) { _, rows in
            backwardRows(rows, dlogits: dlogits, probs: probs, targets: targets, mask: mask, scale: scale, V: V)
        }
    }

    /// Plain serial loop of `forward` (the reference it is tested against).
    @discardableResult
    static func forwardReference(
        probs: UnsafeMutablePointer<Float>, losses: UnsafeMutablePointer<Float>,
        logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, mask: UnsafePointer<Float>, N: Int, V: Int
    ) -> Float {
        forwardRows(0..<N, probs: probs, losses: losses, logits: logits, targets: targets, mask: mask, V: V)
        return maskedMean(losses: losses, mask: mask, N: N)
    }

    /// Plain serial loop of `backward` (the reference it is tested against).
    static func backwardReference(
        dlogits: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>,
        targets: UnsafePointer<Int32>, mask: UnsafePointer<Float>, dloss: Float, N: Int, V: Int
    ) {
        var weight: Double = 0
        for n in 0..<N { weight += Double(mask[n]) }
        if weight == 0 { return }
        backwardRows(0..<N, dlogits: dlogits, probs: probs, targets: targets, mask: mask, scale: dloss / Float(weight), V: V)
    }

    // MARK: Loops over a range of rows

    /// Σ mask·loss / Σ mask over rows 0..<N in order, in Double (0 when Σ mask = 0).
    private static func maskedMean(losses: UnsafePointer<Float>, mask: UnsafePointer<Float>, N: Int) -> Float {
        var total: Double = 0
        var weight: Double = 0
        for n in 0..<N {
            total += Double(mask[n]) * Double(losses[n])
            weight += Double(mask[n])
        }
        return weight == 0 ? 0 : Float(total / weight)
    }

    @inline(__always)
    private static func forwardRows(
        _ rows: Range<Int>, probs: UnsafeMutablePointer<Float>, losses: UnsafeMutablePointer<Float>,
        logits: UnsafePointer<Float>, targets: UnsafePointer<Int32>, mask: UnsafePointer<Float>, V: Int
    ) {
        for n in rows {
            let z = logits + n * V, p = probs + n * V
            // p = e^(z − max z) by `FastExp` (vectorised; a few ulps from `expf`).
            let (maxZ, sum) = FastExp.exponentiate(out: p, x: z, count: V)
            let inv = 1 / sum
            for i in 0..<V { p[i] *= inv }
            let target = Int(targets[n])
            if mask[n] != 0 {
                precondition(target >= 0 && target < V, "CrossEntropy: target \(target) at row \(n) outside 0..<\(V)")
            }
            // log p[target] = z[target] − maxZ − log(sum), stable even when p underflows.
            losses[n] = (target >= 0 && target < V) ? -(z[target] - maxZ - logf(sum)) : 0
        }
    }

    @inline(__always)
    private static func backwardRows(
        _ rows: Range<Int>, dlogits: UnsafeMutablePointer<Float>, probs: UnsafePointer<Float>,
        targets: UnsafePointer<Int32>, mask: UnsafePointer<Float>, scale: Float, V: Int
    ) {
        for n in rows where mask[n] != 0 {
            let s = scale * mask[n]
            let p = probs + n * V, d = dlogits + n * V
            for i in 0..<V { d[i] += s * p[i] }
            d[Int(targets[n])] -= s
        }
    }
}
