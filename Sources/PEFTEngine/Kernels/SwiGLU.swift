import Foundation

/// The gated unit of LLaMA's MLP (Shazeer 2020, "GLU Variants Improve Transformer"):
/// `h = SiLU(g) ⊙ u`, SiLU(g) = g·σ(g), g = gate_proj(x), u = up_proj(x); down_proj(h) follows.
enum SwiGLU {
    /// out = SiLU(gate) ⊙ up, elementwise over N values.
    static func forward(out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, N: Int) {
        for i in 0..<N {
            let g = gate[i]
            out[i] = g / (1 + Foundation.exp(-g)) * up[i]
        }
    }

    /// Accumulates dgate and dup: with σ = σ(g), `du = dh · g·σ`, `dg = dh · u · σ · (1 + g·(1 − σ))`.
    static func backward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                         gate: UnsafePointer<Float>, up: UnsafePointer<Float>, N: Int) {
        for i in 0..<N {
            let g = gate[i], sigma = 1 / (1 + Foundation.exp(-g))
            dup[i] += dout[i] * g * sigma
            dgate[i] += dout[i] * up[i] * sigma * (1 + g * (1 - sigma))
        }
    }
}
