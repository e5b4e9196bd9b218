/// The sum of Float32 values in exactly the order PyTorch's CPU `sum` adds them, so that
/// `mean = sum / n` reproduces `torch.Tensor.mean()` bit for bit — bitsandbytes' double
/// quantization subtracts that mean from the absmax constants.
///
/// PyTorch's `cascade_sum` (aten/src/ATen/native/cpu/SumKernel.cpp), for one contiguous row of
/// n values and vectors of W = 8 lanes (measured: the AVX2 and the AVX-512 build both add as
/// W = 8 for float):
/// - n ≥ W: the first ⌊n/W⌋·W values form ⌊n/W⌋ vectors, summed lane-wise by `rowSum`; the
///   scalar tail is summed from 0 in order, then the W lanes are added to it in lane order.
/// - n < W: `rowSum` over the scalars.
/// `rowSum` keeps 4 interleaved accumulators (element i goes to accumulator i mod 4) over the
/// ⌊m/4⌋ complete groups through a 4-level cascade, adds the leftover elements to accumulator 0,
/// then accumulators 1, 2, 3 to accumulator 0.
/// Valid for a single-threaded reduction; PyTorch splits rows of more than 32,768 values across
/// threads when it has several.
enum TorchFloatSum {
    static let lanes = 8

    static func sum(_ x: UnsafeBufferPointer<Float>) -> Float {
        let n = x.count
        guard n >= lanes else { return rowSum(count: n) { x[$0] } }
        // Lane-wise vector adds are W independent scalar sums of the same shape.
        let vectors = n / lanes
        var total: Float = 0
        for i in (vectors * lanes)..<n { total += x[i] }
        for lane in 0..<lanes { total += rowSum(count: vectors) { x[$0 * lanes + lane] } }
        return total
    }

    /// `row_sum` with ILP 4 over `count` elements given by `element`.
    private static func rowSum(count: Int, element: (Int) -> Float) -> Float {
        let ilp = 4
        let groups = count / ilp
        var partial = multiRowSum(rows: groups) { i, k in element(i * ilp + k) }
        for i in (groups * ilp)..<count { partial[0] += element(i) }
        for k in 1..<ilp { partial[0] += partial[k] }
        return partial[0]
    }

    /// `multi_row_sum` for 4 columns: a cascade of 4 levels of accumulators; level 0 takes
    /// 2^p rows (p = max(4, ⌈log₂ rows⌉/4)), then carries into level 1, which carries into
    /// level 2 every 2^p carries, and so on.
    private static func multiRowSum(rows: Int, element: (Int, Int) -> Float) -> [Float] {
        let levels = 4, columns = 4
        let ceilLog2 = rows <= 1 ? 0 : Int.bitWidth - (rows - 1).leadingZeroBitCount
        let levelPower = max(4, ceilLog2 / levels)
        let levelStep = 1 << levelPower, levelMask = levelStep - 1
        var acc = [[Float]](repeating: [Float](repeating: 0, count: columns), count: levels)
        var i = 0
        while i + levelStep <= rows {
            for _ in 0..<levelStep {
                for k in 0..<columns { acc[0][k] += element(i, k) }
                i += 1
            }
            for j in 1..<levels {
                for k in 0..<columns {
                    acc[j][k] += acc[j - 1][k]
                    acc[j - 1][k] = 0
                }
                if i & (levelMask << (j * levelPower)) != 0 { break }
            }
        }
        while i < rows {
            for k in 0..<columns { acc[0][k] += element(i, k) }
            i += 1
        }
        for j in 1..<levels {
            for k in 0..<columns { acc[0][k] += acc[j][k] }
        }
        return acc[0]
    }
}
