import PEFTEngine

/// ΔW and merged weights of a peft LoRA / DoRA module, in the base weight's layout.
///
/// LoRA (Hu et al. 2021): ΔW = s · B · A, [out, in], with s = alpha / r (or alpha / √r, rsLoRA).
/// With `fan_in_fan_out` (GPT-2's Conv1D stores W as [in, out]) ΔW is transposed, as in peft's
/// `get_delta_weight`, so it always adds to `<module>.weight` as stored.
///
/// DoRA (Liu et al. 2024): W' = m ⊙ (W0 + ΔW) / ‖W0 + ΔW‖, where, following peft's
/// `DoraLinearLayer.get_weight_norm`, ‖·‖ is the L2 norm of each output row of the [out, in]
/// matrix (one norm per output feature, the same index as m [out]); W' row i = m_i · V_i / ‖V_i‖.
/// With `fan_in_fan_out` the computation happens on the [out, in] view and the result is
/// transposed back.
extension PEFTAdapter {
    /// ΔW = s · B · A for `module`, in the base weight's layout ([out, in], or [in, out] with
    /// fan_in_fan_out).
    public func delta(for module: Module) throws -> Tensor {
        let (a, b) = try factors(of: module)
        var delta = Tensor.matmul(b, a)  // [out, r] · [r, in] = [out, in]
        let s = Float(module.scaling)
        delta.storage.withUnsafeMutableBufferPointer { d in
            for i in 0..<d.count { d[i] *= s }
        }
        return config.fanInFanOut ? delta.transposed() : delta
    }

    /// W0 + ΔW (LoRA) or the DoRA weight m ⊙ (W0 + ΔW) / rownorm(W0 + ΔW) when the module has a
    /// magnitude vector. `base` is W0 as stored in the base checkpoint.
    public func mergedWeight(for module: Module, base: Tensor) throws -> Tensor {
        let delta = try delta(for: module)
        guard base.shape == delta.shape else {
            throw CheckpointError.invalidLoRAModule(
                path: file.path, module: module.name,
                detail: "base weight '\(module.baseWeightName)' has shape \(base.shape), the adapter expects \(delta.shape)")
        }
        var merged = base
        merged.storage.withUnsafeMutableBufferPointer { w in
            delta.storage.withUnsafeBufferPointer { d in
                for i in 0..<w.count { w[i] += d[i] }
            }
        }
        guard let magnitude = try magnitude(of: module) else { return merged }
        let rows = config.fanInFanOut ? merged.transposed() : merged  // [out, in]
        let scaled = Self.scaleRowsToMagnitude(rows, magnitude: magnitude.storage)
        return config.fanInFanOut ? scaled.transposed() : scaled
    }

    /// The merged weight of `module`, reading W0 from `base` (`<module>.weight`).
    public func mergedWeight(for module: Module, base: some TensorSource) throws -> Tensor {
        try mergedWeight(for: module, base: base.tensor(named: module.baseWeightName))
    }

    /// Row i of `v` [out, in] scaled to L2 norm m[i] (rows of zero norm stay zero).
    static func scaleRowsToMagnitude(_ v: Tensor, magnitude m: [Float]) -> Tensor {
        precondition(v.rank == 2 && v.rows == m.count, "DoRA: magnitude has \(m.count) entries for \(v.shape)")
        var out = v
        let n = v.columns
        out.storage.withUnsafeMutableBufferPointer { w in
            for i in 0..<m.count {
                var sum = 0.0
                for j in 0..<n { sum += Double(w[i * n + j]) * Double(w[i * n + j]) }
                let norm = sum.squareRoot()
                let factor = norm > 0 ? Float(Double(m[i]) / norm) : 0
                for j in 0..<n { w[i * n + j] *= factor }
            }
        }
        return out
    }
}
