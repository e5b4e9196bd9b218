/// Grouped-query attention's sharing of key/value heads (Ainslie et al. 2023, "GQA"; transformers'
/// `repeat_kv`): with H query heads and K key/value heads (K divides H), query head h reads
/// key/value head h / (H/K). Forward copies each KV head to its H/K query heads, so the
/// multi-head attention kernel runs unchanged; backward sums the query heads' gradients back
/// into their shared head.
enum RepeatKV {
    /// x [rows, K·d] → out [rows, H·d].
    static func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, rows: Int, kvHeads: Int, heads: Int, headDim d: Int) {
        precondition(heads % kvHeads == 0, "RepeatKV: \(kvHeads) key/value heads do not divide \(heads) heads")
        let group = heads / kvHeads
        for n in 0..<rows {
            let src = x + n * kvHeads * d, dst = out + n * heads * d
            for h in 0..<heads { (dst + h * d).update(from: src + (h / group) * d, count: d) }
        }
    }

    /// Accumulates into dx [rows, K·d] the sum over each group of dout [rows, H·d].
    static func backward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, rows: Int, kvHeads: Int, heads: Int, headDim d: Int) {
        let group = heads / kvHeads
        for n in 0..<rows {
            let dst = dx + n * kvHeads * d, src = dout + n * heads * d
            for h in 0..<heads {
                let to = dst + (h / group) * d, from = src + h * d
                for i in 0..<d { to[i] += from[i] }
            }
        }
    }
}
