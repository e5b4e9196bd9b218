import Foundation

/// The gated unit of LLaMA's MLP (Shazeer 2020, "GLU Variants Improve Transformer"):
/// `h = SiLU(g) ⊙ u`, SiLU(g) = g·σ(g), g = gate_proj(x), u = up_proj(x); down_proj(h) follows.
/// Elementwise; chunks over `Parallel` change no bit.
enum SwiGLU {
    /// Values per chunk below which a call stays on one thread.
    static let grain = 16_384

    /// out = SiLU(gate) ⊙ up, elementwise over N values.
    static func forward(out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, N: Int) {
        Parallel.forEachChunk(N, grain: grain) { _, range in
            for i in range {
                let g = gate[i]
                out[i] = g / (1 + Foundation.exp(-g)) * up[i]
            }
        }
    }

    /// With σ = σ(g): `du = dh · g·σ`, `dg = dh · u · σ · (1 + g·(1 − σ))`, accumulated into
    /// dgate and dup, or written with `accumulate` false. dgate may be dout itself (each
    /// element is read before it is written).
    static func backward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                         gate: UnsafePointer<Float>, up: UnsafePointer<Float>, N: Int, accumulate: Bool = true) {
        Parallel.forEachChunk(N, grain: grain) { _, range in
            for i in range {
                let g = gate[i], d = dout[i], sigma = 1 / (1 + Foundation.exp(-g))
                let du = d * g * sigma, dg = d * up[i] * sigma * (1 + g * (1 - sigma))
                if accumulate { dup[i] += du; dgate[i] += dg } else { dup[i] = du; dgate[i] = dg }
            }
        }
    }
}
