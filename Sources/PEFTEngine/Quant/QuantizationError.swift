/// How much a tensor W loses under blockwise quantization Q (the "NF4 effect" analysis).
///
/// - `mse` = (1/n)·Σ (wᵢ − Q(w)ᵢ)²
/// - `relativeFrobenius` = ‖W − Q(W)‖_F / ‖W‖_F (0 when W = 0)
/// - `blockMaxAbsError[b]` = max |wᵢ − Q(w)ᵢ| over block b
/// Sums are accumulated in Double.
public struct QuantizationError: Equatable, Sendable {
    public let format: QuantFormat
    public let blocksize: Int
    public let doubleQuant: Bool
    public let mse: Double
    public let relativeFrobenius: Double
    /// One entry per block of `blocksize` values (the last block may be shorter).
    public let blockMaxAbsError: [Float]

    /// Quantizes and dequantizes `tensor`, then measures the difference.
    public init(of tensor: Tensor, format: QuantFormat, blocksize: Int = 64, doubleQuant: Bool = false) {
        let q = QuantizedTensor(quantizing: tensor, format: format, blocksize: blocksize, doubleQuant: doubleQuant)
        self.init(original: tensor, quantized: q)
    }

    /// Measures `quantized` against the `original` it was made from.
    public init(original: Tensor, quantized: QuantizedTensor) {
        precondition(original.shape == quantized.shape,
                     "QuantizationError: original shape \(original.shape) ≠ quantized shape \(quantized.shape)")
        let n = original.count, bs = quantized.blocksize
        var recon = [Float](repeating: 0, count: n)
        recon.withUnsafeMutableBufferPointer { quantized.dequantize(into: $0) }
        var blockMax = [Float](repeating: 0, count: quantized.blockCount)
        var sumSq = 0.0, normSq = 0.0
        original.storage.withUnsafeBufferPointer { w in
            recon.withUnsafeBufferPointer { r in
                for b in 0..<blockMax.count {
                    var worst: Float = 0
                    for i in (b * bs)..<min((b + 1) * bs, n) {
                        let e = w[i] - r[i]
                        worst = max(worst, abs(e))
                        sumSq += Double(e) * Double(e)
                        normSq += Double(w[i]) * Double(w[i])
                    }
                    blockMax[b] = worst
                }
            }
        }
        format = quantized.format
        blocksize = bs
        doubleQuant = quantized.isDoubleQuantized
        mse = n > 0 ? sumSq / Double(n) : 0
        relativeFrobenius = normSq > 0 ? (sumSq / normSq).squareRoot() : 0
        blockMaxAbsError = blockMax
    }
}
