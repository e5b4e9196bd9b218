/// The signed 8-bit "dynamic" quantization map of bitsandbytes (`create_dynamic_map(signed=True,
/// max_exponent_bits=7, total_bits=8)`; Dettmers 2015, "8-Bit Approximations for Parallelism
/// in Deep Learning"), which QLoRA's double quantization uses for the absmax constants.
///
/// Construction: for each exponent i = 0…6 there are 2ⁱ fraction values, the midpoints of a
/// (2ⁱ + 1)-point linspace from 0.1 to 1, i.e. mⱼ = 0.1 + (j + ½)·0.9/2ⁱ for j = 0…2ⁱ−1;
/// each contributes ±10^(i−6)·mⱼ. Together with 0 and 1.0 that is 2·127 + 2 = 256 values,
/// sorted ascending; a code is the index into this sorted list. The map is asymmetric:
/// +1.0 is present, −1.0 is not (the most negative value is −0.99296875).
/// Computed here in Double and rounded once to Float32; bitsandbytes computes in Float32,
/// so entries may differ from its tensor by an ulp.
public enum DynamicQuantizationMap {
    /// The 256 sorted levels in [−1, 1].
    public static let values: [Float] = {
        var data: [Double] = [0, 1]
        for i in 0..<7 {
            let n = 1 << i
            let decade = pow10(i - 6)
            for j in 0..<n {
                let mean = 0.1 + (Double(j) + 0.5) * 0.9 / Double(n)
                data.append(decade * mean)
                data.append(-decade * mean)
            }
        }
        precondition(data.count == 256, "DynamicQuantizationMap: built \(data.count) values, not 256")
        return data.sorted().map { Float($0) }
    }()

    /// Midpoints between adjacent values (255 of them): code = #{k : x > midpoints[k]}.
    static let midpoints: [Float] = (1..<256).map { (values[$0 - 1] + values[$0]) / 2 }

    /// Largest distance from any x ∈ [−1, 1] to its nearest map value (in units of the scale):
    /// the worst-case error of one double-quantized constant, before Float32 rounding.
    public static let maxHalfGap: Float = {
        var worst = max(values[0] + 1, 1 - values[255])
        for k in 1..<256 { worst = max(worst, (values[k] - values[k - 1]) / 2) }
        return worst
    }()

    /// Index of the map value nearest to `x` (8-step binary search over the midpoints).
    /// Branch-free: each step adds `step` times the comparison bit, so random data costs no
    /// mispredictions (a branching version was 3× slower on real absmax constants).
    @inline(__always)
    static func code(nearest x: Float, midpoints m: UnsafePointer<Float>) -> UInt8 {
        var p = 0
        var step = 128
        while step > 0 {
            p &+= step &* Int(unsafeBitCast(x > m[p &+ step &- 1], to: UInt8.self))
            step >>= 1
        }
        return UInt8(truncatingIfNeeded: p)
    }

    private static func pow10(_ e: Int) -> Double {
        var r = 1.0
        for _ in 0..<(-e) { r /= 10 }
        return r
    }
}
