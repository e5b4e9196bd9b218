/// The lookup tables of one `QuantFormat`, built once: a nearest-level search for quantization
/// and a byte → two-levels table for dequantization.
///
/// Nearest level: with the emitted levels in `QuantFormat.quantizationOrder`, L₀ ≤ L₁ ≤ … ≤ L_{n−1},
/// and midpoints Mₖ = (Lₖ + Lₖ₊₁)/2 in Float32, the nearest level to x is L_p with
/// p = #{k : x > Mₖ}: a value exactly on a midpoint goes to the lower level. This is
/// bitsandbytes' rule (`torch.bucketize(x, midpoints)`, right = False), which also decides
/// between equal levels (FP4's +0 and −0, whose midpoint is 0). The count is computed for
/// 16 values at once with SIMD compares against the 15 midpoints (padded with +∞),
/// which beats a per-value search; `sortedCode[p]` turns the position into the format's code.
struct Codebook: Sendable {
    /// Level of each code, as a fraction of absmax (16 entries).
    let levels: [Float]
    /// Midpoints between adjacent emitted levels, padded to 16 with +∞.
    let midpoints: [Float]
    /// Code of the p-th smallest emitted level (16 entries; padding repeats the last).
    let sortedCode: [UInt8]
    /// For each byte b: (levels[b >> 4], levels[b & 15]) — first element in the high nibble.
    let pairTable: [SIMD2<Float>]
    /// Largest distance from any x ∈ [−1, 1] to its nearest emitted level: the worst-case
    /// per-element error of quantization in units of absmax.
    let maxHalfGap: Float
    /// Code of x = 0: what bitsandbytes packs into the spare low nibble of an odd count.
    let paddingCode: UInt8

    init(_ format: QuantFormat) {
        let lv = format.levels
        precondition(lv.count == 16, "Codebook: \(format) needs 16 levels, has \(lv.count)")
        levels = lv
        let emitted = format.quantizationOrder
        let sorted = emitted.map { lv[Int($0)] }
        for k in 1..<sorted.count {
            precondition(sorted[k - 1] <= sorted[k], "Codebook: \(format)'s quantization order is not ascending at \(k)")
        }
        var mids = (1..<sorted.count).map { (sorted[$0 - 1] + sorted[$0]) / 2 }
        mids += [Float](repeating: .infinity, count: 16 - mids.count)
        midpoints = mids
        sortedCode = emitted + [UInt8](repeating: emitted.last!, count: 16 - emitted.count)
        pairTable = (0..<256).map { SIMD2(lv[$0 >> 4], lv[$0 & 15]) }
        var worst = max(sorted.first! + 1, 1 - sorted.last!)
        for k in 1..<sorted.count { worst = max(worst, (sorted[k] - sorted[k - 1]) / 2) }
        maxHalfGap = worst
        var p = 0
        for k in 0..<15 where 0 > mids[k] { p += 1 }
        paddingCode = sortedCode[p]
    }

    /// Code of the emitted level nearest to `x` (x in units of absmax). Scalar path for tails.
    @inline(__always)
    func code(nearest x: Float) -> UInt8 {
        var p = 0
        for k in 0..<15 where x > midpoints[k] { p += 1 }
        return sortedCode[p]
    }

    static let nf4 = Codebook(.nf4)
    static let fp4 = Codebook(.fp4)
    static let e2m1 = Codebook(.e2m1)
    static let int4 = Codebook(.int4)

    static func of(_ format: QuantFormat) -> Codebook {
        switch format {
        case .nf4: return nf4
        case .fp4: return fp4
        case .e2m1: return e2m1
        case .int4: return int4
        }
    }
}
