/// Tensors filled from a `SeededRNG`, one draw per element in row-major order.
///
/// The same generator state always gives the same tensor; pass a `fork`ed generator per
/// parameter group so that adding a draw in one group does not shift another.
extension Tensor {
    /// Elements uniform in [low, high) (`SeededRNG.uniform`).
    public static func uniform(
        _ shape: [Int], low: Float, high: Float, rng: inout SeededRNG
    ) -> Tensor {
        var t = Tensor(shape: shape)
        t.storage.withUnsafeMutableBufferPointer { x in
            for i in 0..<x.count { x[i] = rng.uniform(low: low, high: high) }
        }
        return t
    }

    /// Elements normal with the given mean and standard deviation (`SeededRNG.normal`).
    public static func normal(
        _ shape: [Int], mean: Float = 0, std: Float = 1, rng: inout SeededRNG
    ) -> Tensor {
        var t = Tensor(shape: shape)
        t.storage.withUnsafeMutableBufferPointer { x in
            for i in 0..<x.count { x[i] = rng.normal(mean: mean, std: std) }
        }
        return t
    }

    /// A [out, in] weight initialised like PyTorch's `nn.Linear` default:
    /// `kaiming_uniform_(w, a: sqrt(5))`, i.e. uniform in [−bound, bound) with
    /// bound = `kaimingUniformBound(fanIn: in)` = 1/sqrt(in).
    public static func kaimingUniform(shape: [Int], rng: inout SeededRNG) -> Tensor {
        precondition(
            shape.count == 2 && shape[1] > 0,
            "kaimingUniform: needs shape [out, in] with in > 0, got \(shape)")
        let bound = kaimingUniformBound(fanIn: shape[1])
        return uniform(shape, low: -bound, high: bound, rng: &rng)
    }

    /// Kaiming-uniform bound (He et al., "Delving Deep into Rectifiers", ICCV 2015), with
    /// PyTorch's leaky-ReLU gain: gain = sqrt(2 / (1 + a²)), bound = gain · sqrt(3 / fan_in).
    /// With `nn.Linear`'s a = sqrt(5): gain = sqrt(2/6) = 1/sqrt(3), so
    /// bound = sqrt(3 / fan_in) / sqrt(3) = 1/sqrt(fan_in).
    public static func kaimingUniformBound(fanIn: Int, a: Double = 5.0.squareRoot()) -> Float {
        precondition(fanIn > 0, "kaimingUniformBound: fan_in must be > 0, got \(fanIn)")
        let gain = (2 / (1 + a * a)).squareRoot()
        return Float(gain * (3 / Double(fanIn)).squareRoot())
    }
}
