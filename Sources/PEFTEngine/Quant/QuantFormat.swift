/// A 4-bit blockwise format: each value is stored as a 4-bit code whose level (in [−1, 1])
/// times the block's absmax reconstructs it.
///
/// All four formats share one code path (`BlockwiseKernels`), parametrised only by the
/// 16-entry codebook `levels` (indexed by code) and `quantizationOrder`, the codes quantization
/// may emit in ascending order of their levels. `nf4` and `fp4` are bitsandbytes' formats, bit
/// for bit (`QuantBitsandbytesFixtureTests`); `e2m1` and `int4` are reference grids of our own.
public enum QuantFormat: String, CaseIterable, Codable, Sendable {
    /// 4-bit NormalFloat (Dettmers et al. 2023, "QLoRA", §3): quantiles of N(0, 1) scaled to
    /// [−1, 1]; bitsandbytes' `quant_type="nf4"`.
    case nf4
    /// bitsandbytes' `quant_type="fp4"`: a sign bit and three bits whose levels are
    /// {0, 0.0625, 8, 12, 4, 6, 2, 3}/12 for codes 0…7 (bitsandbytes' own exponent/mantissa
    /// assignment), negated for 8…15. This is what QLoRA's FP4 comparison and every peft /
    /// bitsandbytes user mean by "FP4". It is *not* the OCP E2M1 grid: its smallest non-zero
    /// magnitude is 0.0625/12 instead of 1/12, so it has two levels within 0.006 of zero and
    /// a wide gap up to 2/12.
    case fp4
    /// 4-bit float E2M1 as the OCP Microscaling spec v1.0 defines it: {0, 0.5, 1, 1.5, 2, 3, 4, 6}
    /// and negatives, scaled so the block's absmax maps to 6. Not a bitsandbytes format.
    case e2m1
    /// Symmetric absmax integer: levels q/7 for q ∈ −7…7, i.e. q·absmax/7.
    case int4

    /// Version of the codebooks and the quantization rule. Stored with every table computed from
    /// them, so a table from an older version is recomputed instead of mixed with new ones.
    /// 1: `fp4` was the OCP E2M1 grid and ties, tails and double quantization followed our own
    ///    reading of the paper. 2: `fp4` and `nf4` are bitsandbytes 0.50's, bit for bit; E2M1 is `e2m1`.
    public static let tableVersion = 2

    /// The level of each code 0…15, as a fraction of the block absmax.
    public var levels: [Float] {
        switch self {
        case .nf4: return QuantFormat.nf4Levels
        case .fp4: return QuantFormat.fp4Levels
        case .e2m1: return QuantFormat.e2m1Levels
        case .int4: return QuantFormat.int4Levels
        }
    }

    /// The codes quantization may emit, in ascending order of their levels; value x (in units of
    /// absmax) goes to bucket p = #{k : x > Mₖ}, Mₖ the midpoint of buckets k and k + 1. Codes
    /// outside the list still dequantize (to `levels[code]`) but are never written.
    public var quantizationOrder: [UInt8] {
        switch self {
        case .nf4: return Array(0...15)
        // bitsandbytes' torch.argsort of its FP4 levels. Codes 0 and 8 (the sign bit on zero) are
        // both level 0 with a midpoint of 0 between them, so x ∈ (−0.0026, 0] gets code 0 and
        // x ∈ (0, 0.0026] gets code 8: bitsandbytes' own quirk, kept.
        case .fp4: return [11, 10, 13, 12, 15, 14, 9, 0, 8, 1, 6, 7, 4, 5, 2, 3]
        case .e2m1: return (0...15).filter { $0 != 8 }.sorted { QuantFormat.e2m1Levels[Int($0)] < QuantFormat.e2m1Levels[Int($1)] }
        case .int4: return Array(1...15)  // 0 is −8 in offset binary: outside the symmetric range
        }
    }

    /// Codes that quantization may produce, in code order.
    public var emittedCodes: [UInt8] { quantizationOrder.sorted() }

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

    /// bitsandbytes' FP4 levels (`get_4bit_type("fp4")`): its table {0, 0.0625, 8, 12, 4, 6, 2, 3}
    /// for codes 0…7 and the negatives for 8…15, divided by the largest, 12, in Float32.
    /// Code 8 is +0.0, not −0.0: bitsandbytes builds the table from the Python list
    /// [0, 0.0625, …, -0, …], where −0 is the integer 0.
    public static let fp4Levels: [Float] = {
        let magnitudes: [Float] = [0, 0.0625, 8, 12, 4, 6, 2, 3]
        return magnitudes.map { $0 / 12 } + magnitudes.map { $0 == 0 ? 0 : -($0 / 12) }
    }()

    /// OCP E2M1 levels indexed by the code's bit pattern s·eem (sign in bit 3), divided by 6:
    /// magnitudes 0, 0.5 (subnormal), 1, 1.5, 2, 3, 4, 6 for codes 0…7, negated for 8…15.
    public static let e2m1Levels: [Float] = {
        let magnitudes: [Float] = [0, 0.5, 1, 1.5, 2, 3, 4, 6]
        return magnitudes.map { $0 / 6 } + magnitudes.map { -$0 / 6 }
    }()

    /// Offset-binary int4: code k holds the integer k − 8, level (k − 8)/7. Code 0 (−8/7)
    /// is never emitted, so the levels in use are the symmetric −7/7 … 7/7.
    public static let int4Levels: [Float] = (0..<16).map { Float($0 - 8) / 7 }
}
