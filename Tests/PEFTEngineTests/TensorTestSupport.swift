@testable import PEFTEngine

/// Shared helpers for the tensor and random-number tests.
enum TensorTestSupport {
    /// Largest |a − b| over two tensors of one shape, with the flat index where it occurs.
    static func maxAbsDifference(_ a: Tensor, _ b: Tensor) -> (value: Float, index: Int) {
        precondition(a.shape == b.shape, "maxAbsDifference: shape \(a.shape) vs \(b.shape)")
        var worst: Float = 0, at = -1
        for i in 0..<a.count {
            let d = abs(a.storage[i] - b.storage[i])
            if d > worst || d.isNaN { worst = d; at = i }
        }
        return (worst, at)
    }

    /// "max |Δ| = … at index … (… vs …)" for a failure message.
    static func describeDifference(_ a: Tensor, _ b: Tensor) -> String {
        let (d, i) = maxAbsDifference(a, b)
        guard i >= 0 else { return "identical" }
        return "max |Δ| = \(d) at flat index \(i) (\(a.storage[i]) vs \(b.storage[i]))"
    }

    /// A tensor with elements uniform in [−1, 1), from a generator forked by `label`.
    static func random(_ shape: [Int], _ label: String, seed: UInt64 = 7) -> Tensor {
        var rng = SeededRNG(seed: seed).fork(label)
        return Tensor.uniform(shape, low: -1, high: 1, rng: &rng)
    }
}
