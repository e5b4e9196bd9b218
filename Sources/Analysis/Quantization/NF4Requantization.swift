import PEFTEngine

/// Merging an update into a 4-bit base for deployment: W = base + ΔW computed in Float32, then
/// stored again in 4 bits, W' = deq(Q(W)). Part 3 of the NF4 effect analysis (`NF4Effect`).
///
/// QLoRA trains ΔW = s·B·A on top of W0_q = deq(Q(W0)) and computes with W = W0_q + ΔW; a
/// bitsandbytes-style merge re-quantizes the sum, so whatever part of ΔW falls inside one
/// quantization cell of W is rounded away. Measured here, summed over the matrices given:
/// - `errorNorm` = ‖W' − W‖_F, `deltaNorm` = ‖ΔW‖_F, `weightNorm` = ‖W‖_F
///   (so ‖W' − W‖_F/‖ΔW‖_F is "how much of the update the re-quantization destroys", in units
///   of the update; it can exceed 1, since W' − W also carries W0's own rounding)
/// - `belowHalfStep`: entries with |ΔWᵢ| < ½·(local step at Wᵢ), where the local step is the
///   gap (l_{k+1} − l_k)·absmax_b between the two levels around Wᵢ/absmax_b (absmax of W's
///   block b, levels of the format in use) — a change that small, applied alone, could not
///   move an element to another level. Counted over `elements` entries.
public struct NF4Requantization: Equatable, Sendable {
    public var elements = 0
    public var belowHalfStep = 0
    /// Σ‖W' − W‖², Σ‖ΔW‖², Σ‖W‖² over the matrices added (accumulated in Double).
    public var errorSquared = 0.0, deltaSquared = 0.0, weightSquared = 0.0

    public init() {}

    public var errorNorm: Double { errorSquared.squareRoot() }
    public var deltaNorm: Double { deltaSquared.squareRoot() }
    public var weightNorm: Double { weightSquared.squareRoot() }
    /// ‖W' − W‖_F / ‖ΔW‖_F; nil when ΔW = 0.
    public var errorOverDelta: Double? { deltaSquared > 0 ? (errorSquared / deltaSquared).squareRoot() : nil }
    /// ‖W' − W‖_F / ‖W‖_F; 0 when W = 0.
    public var errorOverWeight: Double { weightSquared > 0 ? (errorSquared / weightSquared).squareRoot() : 0 }
    /// belowHalfStep / elements (0 for no elements).
    public var fractionBelowHalfStep: Double { elements > 0 ? Double(belowHalfStep) / Double(elements) : 0 }

    /// W' = deq(Q(base + delta)); accumulates the norms and counts of this matrix into `self`.
    ///
    /// - Precondition: `base` and `delta` have the same shape.
    public mutating func merge(base: Tensor, delta: Tensor, format: QuantFormat, blocksize: Int, doubleQuant: Bool) -> Tensor {
        precondition(base.shape == delta.shape, "NF4Requantization.merge: base shape \(base.shape) ≠ ΔW shape \(delta.shape)")
        let w = base + delta
        let q = QuantizedTensor(quantizing: w, format: format, blocksize: blocksize, doubleQuant: doubleQuant)
        let merged = q.dequantize()
        let absmax = q.blockAbsmax
        let levels = format.emittedCodes.map { format.levels[Int($0)] }.sorted()
        var err = 0.0, dsq = 0.0, wsq = 0.0, below = 0
        w.storage.withUnsafeBufferPointer { wp in
            merged.storage.withUnsafeBufferPointer { mp in
                delta.storage.withUnsafeBufferPointer { dp in
                    for i in 0..<wp.count {
                        let e = Double(mp[i]) - Double(wp[i])
                        err += e * e
                        dsq += Double(dp[i]) * Double(dp[i])
                        wsq += Double(wp[i]) * Double(wp[i])
                        let a = absmax[i / blocksize]
                        if Double(abs(dp[i])) < 0.5 * Self.localStep(of: wp[i], absmax: a, levels: levels) { below += 1 }
                    }
                }
            }
        }
        elements += w.count
        belowHalfStep += below
        errorSquared += err
        deltaSquared += dsq
        weightSquared += wsq
        return merged
    }

    /// (l_{k+1} − l_k)·absmax for the sorted levels l with l_k ≤ x/absmax ≤ l_{k+1} (the first
    /// gap at or below the lowest level, the last at or above the highest); 0 when absmax = 0.
    static func localStep(of x: Float, absmax: Float, levels: [Float]) -> Double {
        guard absmax > 0 else { return 0 }
        let u = x / absmax
        var k = 0
        while k + 2 < levels.count && levels[k + 1] < u { k += 1 }
        return Double(levels[k + 1] - levels[k]) * Double(absmax)
    }
}
