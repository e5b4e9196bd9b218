import Foundation

/// KL(p ‖ q) between the next-token distributions of two models at the same positions, from
/// their logits: p = softmax(zp) (the reference, e.g. the base model), q = softmax(zq) (the
/// tuned model). Per row n,
///
///     a_v = zp_v − max zp − ln Σ e^{zp − max zp}      (log p_v)
///     b_v = zq_v − max zq − ln Σ e^{zq − max zq}      (log q_v)
///     KL_n = Σ_v e^{a_v} (a_v − b_v)                   ≥ 0, in nats
///
/// Each term is formed from the two log-probabilities directly (not as Σ p·zp − Σ p·zq minus
/// the log-sum-exps, which cancels badly when the models agree); the exponentials are the
/// `FastExp` lanes of the cross-entropy, the row sum is accumulated in Double. Rows are
/// independent and split over `Parallel` chunks, so the result does not depend on the thread
/// count. Forward only: nothing trains through it.
public enum KLDivergence {
    /// Rows per parallel chunk (each row is V exponentials).
    static let grain = 8

    /// KL_n of every row n with `mask[n] != 0` into `out[n]` (0 for the others); returns
    /// Σ_n mask[n] · KL_n. `p` and `q` are [N, V] logits.
    @discardableResult
    public static func rows(out: UnsafeMutablePointer<Double>, p: UnsafePointer<Float>, q: UnsafePointer<Float>,
                            mask: UnsafePointer<Float>, N: Int, V: Int) -> Double {
        precondition(V >= 1, "KLDivergence: V = \(V) must be ≥ 1")
        Parallel.forEachChunk(N, grain: grain) { _, range in
            for n in range {
                guard mask[n] != 0 else { out[n] = 0; continue }
                out[n] = row(p + n * V, q + n * V, V: V)
            }
        }
        var total = 0.0
        for n in 0..<N where mask[n] != 0 { total += Double(mask[n]) * out[n] }
        return total
    }

    /// KL(softmax(zp) ‖ softmax(zq)) of one row of V logits.
    static func row(_ zp: UnsafePointer<Float>, _ zq: UnsafePointer<Float>, V: Int) -> Double {
        typealias L = SIMD8<Float>
        let (maxP, sumP) = FastExp.shiftedSum(zp, count: V)
        let (maxQ, sumQ) = FastExp.shiftedSum(zq, count: V)
        let shiftP = maxP + logf(sumP), shiftQ = maxQ + logf(sumQ)
        let rawP = UnsafeRawPointer(zp), rawQ = UnsafeRawPointer(zq)
        var lanes = SIMD8<Double>(repeating: 0)
        var v = 0
        while v + L.scalarCount <= V {
            let a = rawP.loadUnaligned(fromByteOffset: 4 * v, as: L.self) - shiftP
            let b = rawQ.loadUnaligned(fromByteOffset: 4 * v, as: L.self) - shiftQ
            let term = FastExp.exp(a) * (a - b)
            lanes += SIMD8<Double>(term)
            v += L.scalarCount
        }
        var total = lanes.sum()
        while v < V {
            let a = zp[v] - shiftP, b = zq[v] - shiftQ
            total += Double(FastExp.exp(a) * (a - b))
            v += 1
        }
        return max(total, 0)
    }
}
