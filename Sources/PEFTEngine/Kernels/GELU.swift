import Foundation

/// GELU, tanh approximation (Hendrycks & Gimpel 2016; as in GPT-2 and PyTorch's
/// `gelu(x, approximate="tanh")` — NOT PyTorch's default exact-erf `nn.GELU()`):
/// `gelu(x) = ½ x (1 + tanh(u))`, `u = √(2/π) (x + 0.044715 x³)`.
enum GELU {
    static let sqrt2OverPi: Float = 0.797_884_56  // √(2/π)
    static let cubic: Float = 0.044_715

    /// out[i] = gelu(x[i]) for i in 0..<N.
    static func forward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, N: Int) {
        for i in 0..<N {
            let v = x[i]
            let u = sqrt2OverPi * (v + cubic * v * v * v)
            out[i] = 0.5 * v * (1 + tanhf(u))
        }
    }

    /// dx[i] += gelu'(x[i]) · dout[i], with
    /// `gelu'(x) = ½(1 + tanh u) + ½ x (1 − tanh² u) √(2/π)(1 + 3·0.044715 x²)`.
    static func backward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, x: UnsafePointer<Float>, N: Int) {
        for i in 0..<N {
            let v = x[i]
            let u = sqrt2OverPi * (v + cubic * v * v * v)
            let th = tanhf(u)
            let local = 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * sqrt2OverPi * (1 + 3 * cubic * v * v)
            dx[i] += local * dout[i]
        }
    }
}
