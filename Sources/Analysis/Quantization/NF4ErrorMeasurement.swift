import PEFTEngine

/// What blockwise 4-bit quantization does to one named tensor in one format: part 1 of the
/// NF4 effect analysis (`NF4Effect`).
///
/// For a tensor W with n values cut into blocks of B (row-major, the last block may be
/// shorter) and Ŵ = deq(Q(W)) (`QuantizedTensor`):
/// - `mse` = (1/n)·Σ (wᵢ − ŵᵢ)²
/// - `relativeFrobenius` = ‖W − Ŵ‖_F / ‖W‖_F (0 for W = 0)
/// - e_b = max |wᵢ − ŵᵢ| over block b; `blockMaxMean` = mean_b e_b, `blockMaxP50` / `blockMaxP90`
///   the 50th / 90th percentiles of the e_b (linear interpolation between order statistics,
///   numpy's default), `blockMaxMax` = max_b e_b
/// - `bitsPerParameter` = stored bytes·8 / n (4 + 32/B without double quantization, ≈ 4 + 8/B
///   + 32/(256·B) with it)
///
/// Pure mathematics on tensors, no file: the same function serves a study's stored weights
/// and, later, the tensors of a checkpoint.
public struct NF4ErrorMeasurement: Equatable, Sendable {
    public var name: String
    public var elements: Int
    public var format: QuantFormat
    public var blocksize: Int
    public var doubleQuant: Bool
    public var mse: Double
    public var relativeFrobenius: Double
    public var blockMaxMean: Double
    public var blockMaxP50: Double
    public var blockMaxP90: Double
    public var blockMaxMax: Double
    public var bitsPerParameter: Double

    /// Quantizes `tensor` in `format` (blocksize `blocksize`, double quantization of the block
    /// absmaxes when `doubleQuant`) and measures the difference.
    public init(name: String, tensor: Tensor, format: QuantFormat, blocksize: Int, doubleQuant: Bool) {
        let q = QuantizedTensor(quantizing: tensor, format: format, blocksize: blocksize, doubleQuant: doubleQuant)
        let error = QuantizationError(original: tensor, quantized: q)
        let blockMax = error.blockMaxAbsError.map(Double.init)
        self.name = name
        elements = tensor.count
        self.format = format
        self.blocksize = blocksize
        self.doubleQuant = doubleQuant
        mse = error.mse
        relativeFrobenius = error.relativeFrobenius
        blockMaxMean = blockMax.isEmpty ? 0 : blockMax.reduce(0, +) / Double(blockMax.count)
        blockMaxP50 = Self.percentile(blockMax, 0.5)
        blockMaxP90 = Self.percentile(blockMax, 0.9)
        blockMaxMax = blockMax.max() ?? 0
        bitsPerParameter = q.bitsPerParameter
    }

    /// Every tensor × format × double-quantization setting, in that nesting order.
    ///
    /// - Precondition: `blocksize` is a power of two in 32…4096 (`QuantizedTensor.isValidBlocksize`).
    public static func measure(_ tensors: [(name: String, tensor: Tensor)], formats: [QuantFormat] = QuantFormat.allCases,
                               blocksize: Int = 64, doubleQuant: [Bool] = [false, true]) -> [NF4ErrorMeasurement] {
        precondition(QuantizedTensor.isValidBlocksize(blocksize), "NF4ErrorMeasurement: blocksize \(blocksize) is not a power of two in 32…4096")
        var out: [NF4ErrorMeasurement] = []
        for (name, tensor) in tensors {
            for format in formats {
                for dq in doubleQuant {
                    out.append(NF4ErrorMeasurement(name: name, tensor: tensor, format: format, blocksize: blocksize, doubleQuant: dq))
                }
            }
        }
        return out
    }

    /// The q-quantile (0 ≤ q ≤ 1) of `values` by linear interpolation between the order
    /// statistics at positions q·(n − 1) (numpy's `linear` method); 0 for no values.
    static func percentile(_ values: [Double], _ q: Double) -> Double {
        precondition((0...1).contains(q), "percentile: q = \(q) outside [0, 1]")
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let position = q * Double(sorted.count - 1)
        let lo = Int(position.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        let fraction = position - Double(lo)
        return sorted[lo] + fraction * (sorted[hi] - sorted[lo])
    }
}
