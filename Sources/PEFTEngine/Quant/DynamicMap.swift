/// The signed 8-bit "dynamic" quantization map of bitsandbytes (`create_dynamic_map(signed=True,
/// max_exponent_bits=7, total_bits=8)`; Dettmers 2015, "8-Bit Approximations for Parallelism
/// in Deep Learning"), which QLoRA's double quantization uses for the absmax constants, and
/// bitsandbytes' CPU rule for picking a code.
///
/// Construction: for each exponent i = 0…6 there are 2ⁱ fraction values, the midpoints of a
/// (2ⁱ + 1)-point linspace from 0.1 to 1, i.e. mⱼ = 0.1 + (j + ½)·0.9/2ⁱ for j = 0…2ⁱ−1;
/// each contributes ±10^(i−6)·mⱼ. Together with 0 and 1.0 that is 2·127 + 2 = 256 values,
/// sorted ascending; a code is the index into this sorted list. The map is asymmetric:
/// +1.0 is present, −1.0 is not (the most negative value is −0.99296875).
///
/// bitsandbytes computes the linspaces and products in Float32 (torch), which puts 72 of the
/// 256 entries one ulp away from the Double construction rounded once. `values` therefore holds
/// bitsandbytes' own Float32 bit patterns, as `create_dynamic_map()` of bitsandbytes 0.50
/// returns them (`Tests/Fixtures/make_bnb_quant_fixture.py` writes them to the fixture);
/// `QuantLevelsTests` re-derives every entry from the formula above to within one ulp.
public enum DynamicQuantizationMap {
    /// The 256 sorted levels in [−1, 1].
    public static let values: [Float] = bitPatterns.map(Float.init(bitPattern:))

    private static let bitPatterns: [UInt32] = [
        0xbf7e3333, 0xbf7a999a, 0xbf770000, 0xbf736666, 0xbf6fcccd, 0xbf6c3333, 0xbf68999a, 0xbf650000,
        0xbf616666, 0xbf5dcccd, 0xbf5a3333, 0xbf56999a, 0xbf530000, 0xbf4f6666, 0xbf4bcccd, 0xbf483333,
        0xbf44999a, 0xbf410000, 0xbf3d6666, 0xbf39cccd, 0xbf363334, 0xbf32999a, 0xbf2f0000, 0xbf2b6666,
        0xbf27cccd, 0xbf243334, 0xbf20999a, 0xbf1d0000, 0xbf196666, 0xbf15cccd, 0xbf123334, 0xbf0e999a,
        0xbf0b0000, 0xbf076666, 0xbf03cccc, 0xbf003333, 0xbef93332, 0xbef20000, 0xbeeacccc, 0xbee3999a,
        0xbedc6666, 0xbed53333, 0xbece0000, 0xbec6cccc, 0xbebf999a, 0xbeb86666, 0xbeb13333, 0xbeaa0000,
        0xbea2cccc, 0xbe9b999a, 0xbe946666, 0xbe8d3334, 0xbe860000, 0xbe7d9999, 0xbe6f3333, 0xbe60cccd,
        0xbe526666, 0xbe440000, 0xbe35999a, 0xbe273333, 0xbe18cccd, 0xbe0a6666, 0xbdf80000, 0xbddb3334,
        0xbdc9eb85, 0xbdc428f7, 0xbdbe6667, 0xbdb8a3d7, 0xbdb2e148, 0xbdad1eb8, 0xbda75c2a, 0xbda1999a,
        0xbd9bd70a, 0xbd96147b, 0xbd9051eb, 0xbd8a8f5d, 0xbd84cccd, 0xbd7e147b, 0xbd728f5d, 0xbd670a3d,
        0xbd5b851f, 0xbd500000, 0xbd447ae1, 0xbd38f5c3, 0xbd2d70a3, 0xbd21eb85, 0xbd166667, 0xbd0ae148,
        0xbcfeb852, 0xbce7ae15, 0xbcd0a3d7, 0xbcb9999a, 0xbca28f5d, 0xbc8b851f, 0xbc68f5c3, 0xbc3ae148,
        0xbc1f3b64, 0xbc160418, 0xbc0ccccd, 0xbc039581, 0xbbf4bc6a, 0xbbe24dd3, 0xbbcfdf3b, 0xbbbd70a4,
        0xbbab020d, 0xbb989374, 0xbb8624dd, 0xbb676c8a, 0xbb428f5c, 0xbb1db22d, 0xbaf1a9fc, 0xbaa7ef9d,
        0xba7765ff, 0xba59e83e, 0xba3c6a80, 0xba1eecc1, 0xba016f01, 0xb9c7e283, 0xb98ce705, 0xb923d70b,
        0xb8ba1f4b, 0xb88aefb3, 0xb8378034, 0xb7b24206, 0xb70205ff, 0xb65a1a94, 0xb513a3b7, 0x00000000,
        0x3513a3b7, 0x365a1a94, 0x370205ff, 0x37b24206, 0x38378034, 0x388aefb3, 0x38ba1f4b, 0x3923d70b,
        0x398ce705, 0x39c7e283, 0x3a016f01, 0x3a1eecc1, 0x3a3c6a80, 0x3a59e83e, 0x3a7765ff, 0x3aa7ef9d,
        0x3af1a9fc, 0x3b1db22d, 0x3b428f5c, 0x3b676c8a, 0x3b8624dd, 0x3b989374, 0x3bab020d, 0x3bbd70a4,
        0x3bcfdf3b, 0x3be24dd3, 0x3bf4bc6a, 0x3c039581, 0x3c0ccccd, 0x3c160418, 0x3c1f3b64, 0x3c3ae148,
        0x3c68f5c3, 0x3c8b851f, 0x3ca28f5d, 0x3cb9999a, 0x3cd0a3d7, 0x3ce7ae15, 0x3cfeb852, 0x3d0ae148,
        0x3d166667, 0x3d21eb85, 0x3d2d70a3, 0x3d38f5c3, 0x3d447ae1, 0x3d500000, 0x3d5b851f, 0x3d670a3d,
        0x3d728f5d, 0x3d7e147b, 0x3d84cccd, 0x3d8a8f5d, 0x3d9051eb, 0x3d96147b, 0x3d9bd70a, 0x3da1999a,
        0x3da75c2a, 0x3dad1eb8, 0x3db2e148, 0x3db8a3d7, 0x3dbe6667, 0x3dc428f7, 0x3dc9eb85, 0x3ddb3334,
        0x3df80000, 0x3e0a6666, 0x3e18cccd, 0x3e273333, 0x3e35999a, 0x3e440000, 0x3e526666, 0x3e60cccd,
        0x3e6f3333, 0x3e7d9999, 0x3e860000, 0x3e8d3334, 0x3e946666, 0x3e9b999a, 0x3ea2cccc, 0x3eaa0000,
        0x3eb13333, 0x3eb86666, 0x3ebf999a, 0x3ec6cccc, 0x3ece0000, 0x3ed53333, 0x3edc6666, 0x3ee3999a,
        0x3eeacccc, 0x3ef20000, 0x3ef93332, 0x3f003333, 0x3f03cccc, 0x3f076666, 0x3f0b0000, 0x3f0e999a,
        0x3f123334, 0x3f15cccd, 0x3f196666, 0x3f1d0000, 0x3f20999a, 0x3f243334, 0x3f27cccd, 0x3f2b6666,
        0x3f2f0000, 0x3f32999a, 0x3f363334, 0x3f39cccd, 0x3f3d6666, 0x3f410000, 0x3f44999a, 0x3f483333,
        0x3f4bcccd, 0x3f4f6666, 0x3f530000, 0x3f56999a, 0x3f5a3333, 0x3f5dcccd, 0x3f616666, 0x3f650000,
        0x3f68999a, 0x3f6c3333, 0x3f6fcccd, 0x3f736666, 0x3f770000, 0x3f7a999a, 0x3f7e3333, 0x3f800000,
    ]

    /// Midpoints between adjacent values (255 of them), ½·(vₖ + vₖ₊₁) in Float32.
    static let midpoints: [Float] = (1..<256).map { 0.5 * (values[$0 - 1] + values[$0]) }

    /// Bins of bitsandbytes' code lookup on CPU: [−1, 1] cut into 65,536 points.
    static let lookupBins = 65_536

    /// bitsandbytes' CPU lookup table (`build_quantize_lut`, csrc/cpu_ops.cpp): bin i stands for
    /// vᵢ = −1 + 2i/65535 (Float32) and holds #{k : midpointₖ < vᵢ}.
    static let lookupTable: [UInt8] = {
        var table = [UInt8](repeating: 0, count: lookupBins)
        var code = 0
        for i in 0..<lookupBins {
            let v: Float = -1 + (2 * Float(i)) / Float(lookupBins - 1)
            while code < 255 && midpoints[code] < v { code += 1 }
            table[i] = UInt8(code)
        }
        return table
    }()

    /// Largest distance from any x ∈ [−1, 1] to its nearest map value (in units of the scale).
    public static let maxHalfGap: Float = {
        var worst = max(values[0] + 1, 1 - values[255])
        for k in 1..<256 { worst = max(worst, (values[k] - values[k - 1]) / 2) }
        return worst
    }()

    /// Worst-case distance from x to the value of `code(of: x)`: the lookup first rounds x to
    /// its bin, at most 1/65535 away, then takes the bin's nearest value.
    public static let maxLookupError: Float = maxHalfGap + 1 / Float(lookupBins - 1)

    /// The code bitsandbytes gives x ∈ [−1, 1] (clamped first): its bin
    /// ⌊(x + 1)·½·65535 + ½⌋, then the table. Nearest value except within a bin's width of a
    /// midpoint, where the bin's centre decides.
    @inline(__always)
    static func code(of x: Float, table: UnsafePointer<UInt8>) -> UInt8 {
        let clamped = min(max(x, -1), 1)
        let bin = (clamped + 1) * 0.5 * Float(lookupBins - 1) + 0.5
        return table[Int(bin)]
    }
}
