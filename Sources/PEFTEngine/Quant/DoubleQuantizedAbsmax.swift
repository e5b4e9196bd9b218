/// Block absmax constants quantized a second time ("double quantization", QLoRA §3), exactly
/// as bitsandbytes 0.50 does on CPU (`quantize_4bit(compress_statistics=True)`).
///
/// Given the Float32 absmaxes a₀…a_{m−1} of a blockwise-quantized tensor:
/// μ = mean(a) as `torch.mean` computes it (`TorchFloatSum`, then ÷ m); cᵢ = aᵢ − μ; the cᵢ are
/// cut into blocks of 256, each with scale sⱼ = max |cᵢ| over the block; each cᵢ is stored as
/// the 8-bit `DynamicQuantizationMap` code of cᵢ·(1/sⱼ), picked through bitsandbytes' 65,536-bin
/// lookup (code 0 for every cᵢ of a block with sⱼ = 0). Reconstruction:
/// âᵢ = map[codeᵢ]·sⱼ + μ, with |âᵢ − aᵢ| ≤ `DynamicQuantizationMap.maxLookupError`·sⱼ
/// (plus Float32 rounding).
///
/// Storage: one byte per absmax, one Float32 per 256 absmaxes, one Float32 mean. With
/// blocksize 64 that is 8/64 + 32/(64·256) bits per parameter instead of 32/64.
public struct DoubleQuantizedAbsmax: Equatable, Sendable {
    /// Number of absmaxes sharing one Float32 scale.
    public static let blocksize = 256

    /// One 8-bit dynamic-map code per absmax.
    public let codes: [UInt8]
    /// One scale per 256 absmaxes: max |aᵢ − μ| over the block (0 if all equal μ).
    public let scales: [Float]
    /// μ, the mean of all absmaxes, subtracted before quantizing.
    public let mean: Float

    /// Number of absmax constants represented.
    public var count: Int { codes.count }

    /// Bytes actually stored: codes, scales and the mean.
    public var storageBytes: Int { codes.count + 4 * scales.count + 4 }

    /// Quantizes `absmax` (non-negative, finite).
    public init(quantizing absmax: [Float]) {
        let m = absmax.count
        let nScales = (m + Self.blocksize - 1) / Self.blocksize
        let mu = m > 0 ? absmax.withUnsafeBufferPointer(TorchFloatSum.sum) / Float(m) : 0
        var codes = [UInt8](repeating: 0, count: m)
        var scales = [Float](repeating: 0, count: nScales)
        absmax.withUnsafeBufferPointer { aBuf in
            DynamicQuantizationMap.lookupTable.withUnsafeBufferPointer { tableBuf in
                codes.withUnsafeMutableBufferPointer { qBuf in
                    scales.withUnsafeMutableBufferPointer { sBuf in
                        let a = UncheckedSendable(aBuf.baseAddress), table = UncheckedSendable(tableBuf.baseAddress!)
                        let q = UncheckedSendable(qBuf.baseAddress), sc = UncheckedSendable(sBuf.baseAddress)
                        // Each group of 256 is independent: split across threads for large tensors.
                        BlockwiseKernels.forEachBlockRange(blockCount: nScales, elementCount: m) { groups in
                            let a = a.value!, q = q.value!, sc = sc.value!
                            for j in groups {
                                let lo = j * Self.blocksize, hi = min(lo + Self.blocksize, m)
                                var s: Float = 0
                                for i in lo..<hi { s = max(s, abs(a[i] - mu)) }
                                sc[j] = s
                                guard s > 0 else { continue }  // codes stay 0, as bitsandbytes writes them
                                let inv: Float = 1 / s
                                for i in lo..<hi {
                                    q[i] = DynamicQuantizationMap.code(of: (a[i] - mu) * inv, table: table.value)
                                }
                            }
                        }
                    }
                }
            }
        }
        self.codes = codes
        self.scales = scales
        self.mean = mu
    }

    /// Restores stored parts (e.g. read back from a file).
    public init(codes: [UInt8], scales: [Float], mean: Float) {
        precondition(
            scales.count == (codes.count + Self.blocksize - 1) / Self.blocksize,
            "DoubleQuantizedAbsmax: \(codes.count) codes need \((codes.count + Self.blocksize - 1) / Self.blocksize) scales, got \(scales.count)")
        self.codes = codes
        self.scales = scales
        self.mean = mean
    }

    /// âᵢ = map[codeᵢ]·s_{i/256} + μ.
    @inline(__always)
    public func value(at i: Int) -> Float {
        DynamicQuantizationMap.values[Int(codes[i])] * scales[i / Self.blocksize] + mean
    }

    /// All reconstructed absmaxes.
    public func dequantize() -> [Float] { (0..<count).map(value(at:)) }

    /// Worst-case |âᵢ − aᵢ| for absmax i, from the map's largest half-gap and the lookup's bin
    /// width (before Float32 rounding).
    public func errorBound(at i: Int) -> Float {
        DynamicQuantizationMap.maxLookupError * scales[i / Self.blocksize]
    }
}
