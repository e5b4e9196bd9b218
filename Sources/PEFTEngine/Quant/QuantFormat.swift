/// A 4-bit blockwise format: each value is stored as a 4-bit code whose level (in [−1, 1])
/// times the block's absmax reconstructs it.
///
/// All three formats share one code path (`BlockwiseKernels`), parametrised only by the
/// 16-entry codebook `levels` (indexed by code) and the set of codes quantization may emit.
public enum QuantFormat: String, CaseIterable, Codable, Sendable {
    /// 4-bit NormalFloat (Dettmers et al. 2023, "QLoRA", §3): quantiles of N(0, 1) scaled to [−1, 1].
    case nf4
    /// 4-bit float E2M1 (OCP Microscaling spec v1.0): {0, 0.5, 1, 1.5, 2, 3, 4, 6} and negatives,
    /// scaled so the block's absmax maps to 6.
    case fp4
    /// Symmetric absmax integer: levels q/7 for q ∈ −7…7, i.e. q·absmax/7.
    case int4

    /// The level of each code 0…15, as a fraction of the block absmax.
    public var levels: [Float] {
        switch self {
        case .nf4: return QuantFormat.nf4Levels
        case .fp4: return QuantFormat.fp4Levels
        case .int4: return QuantFormat.int4Levels
        }
    }

    /// Codes that quantization may produce. Codes outside this set still dequantize
    /// (to `levels[code]`) but are never written.
    public var emittedCodes: [UInt8] {
        switch self {
        case .nf4: return Array(0...15)
        case .fp4: return (0...15).filter { $0 != 8 }  // 8 is −0: a duplicate of +0
        case .int4: return Array(1...15)  // 0 is −8 in offset binary: outside the symmetric range
        }
    }

    /// The NF4 levels exactly as bitsandbytes hard-codes them (Float32), code 0 … 15.
    ///
    /// Construction (bitsandbytes `create_normal_map(offset=0.9677083, use_extra_value=True)`):
    /// - 8 positive values Φ⁻¹(pᵢ) at pᵢ = δ + i·(½ − δ)/8, i = 0…7, with δ = 0.9677083
    ///   (the 9-point linspace from δ to ½, endpoint ½ dropped);
    /// - 7 negative values −Φ⁻¹(pⱼ) at pⱼ = δ + j·(½ − δ)/7, j = 0…6 (8-point linspace, ½ dropped);
    /// - one exact 0.
    /// Sorted, then divided by the largest, Φ⁻¹(δ), so the ends are exactly −1 and 1.
    /// δ = ½·[(1 − 1/30) + (1 − 1/32)] to the 7 digits given, i.e. the mean of the top
    /// probability a 15- and a 16-level quantile grid would use; it keeps Φ⁻¹ finite at the ends.
    /// The asymmetry (8 positive, 7 negative) buys an exact zero.
    /// `QuantLevelsTests` re-derives all 16 from `NormalQuantile` within 1e-6.
    public static let nf4Levels: [Float] = [
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    ]

    /// E2M1 levels indexed by the code's bit pattern s·eem (sign in bit 3), divided by 6:
    /// magnitudes 0, 0.5 (subnormal), 1, 1.5, 2, 3, 4, 6 for codes 0…7, negated for 8…15.
    public static let fp4Levels: [Float] = {
        let magnitudes: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6]
        return magnitudes.map { $0 / 6 } + magnitudes.map { -$0 / 6 }
    }()

    /// Offset-binary int4: code k holds the integer k − 8, level (k − 8)/7. Code 0 (−8/7)
    /// is never emitted, so the levels in use are the symmetric −7/7 … 7/7.
    public static let int4Levels: [Float] = (0..<16).map { Float($0 - 8) / 7 }
}
