import Foundation

/// The gated unit of LLaMA's MLP (Shazeer 2020, "GLU Variants Improve Transformer"):
/// `h = SiLU(g) ⊙ u`, SiLU(g) = g·σ(g), g = gate_proj(x), u = up_proj(x); down_proj(h) follows.
/// σ(g) = 1/(1 + e^(−g)) with `FastExp` on eight lanes (the tail with the same lane function,
/// so every element gets the same bits wherever a chunk starts). Elementwise; chunks over
/// `Parallel` change no bit.
enum SwiGLU {
    /// Values per chunk below which a call stays on one thread.
    static let grain = 16_384
    typealias V = SIMD8<Float>

    /// out = SiLU(gate) ⊙ up, elementwise over N values.
    static func forward(out: UnsafeMutablePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, N: Int) {
        Parallel.forEachChunk(N, grain: grain) { _, range in
            let g = UnsafeRawPointer(gate), u = UnsafeRawPointer(up), o = UnsafeMutableRawPointer(out)
            var i = range.lowerBound
            while i + V.scalarCount <= range.upperBound {
                let gv = g.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
                let sigma = 1 / (1 + FastExp.exp(-gv))
                o.storeBytes(of: gv * sigma * u.loadUnaligned(fromByteOffset: 4 * i, as: V.self), toByteOffset: 4 * i, as: V.self)
                i += V.scalarCount
            }
            while i < range.upperBound {
                out[i] = gate[i] * (1 / (1 + FastExp.exp(-gate[i]))) * up[i]
                i += 1
            }
        }
    }

    /// With σ = σ(g): `du = dh · g·σ`, `dg = dh · u · σ · (1 + g·(1 − σ))`, accumulated into
    /// dgate and dup, or written with `accumulate` false. dgate may be dout itself (each
    /// element is read before it is written).
    static func backward(dgate: UnsafeMutablePointer<Float>, dup: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                         gate: UnsafePointer<Float>, up: UnsafePointer<Float>, N: Int, accumulate: Bool = true) {
        Parallel.forEachChunk(N, grain: grain) { _, range in
            let g = UnsafeRawPointer(gate), u = UnsafeRawPointer(up), d = UnsafeRawPointer(dout)
            let dg = UnsafeMutableRawPointer(dgate), du = UnsafeMutableRawPointer(dup)
            var i = range.lowerBound
            while i + V.scalarCount <= range.upperBound {
                let gv = g.loadUnaligned(fromByteOffset: 4 * i, as: V.self), dv = d.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
                let uv = u.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
                let sigma = 1 / (1 + FastExp.exp(-gv))
                var dUp = dv * gv * sigma, dGate = dv * uv * sigma * (1 + gv * (1 - sigma))
                if accumulate {
                    dUp += du.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
                    dGate += dg.loadUnaligned(fromByteOffset: 4 * i, as: V.self)
                }
                du.storeBytes(of: dUp, toByteOffset: 4 * i, as: V.self)
                dg.storeBytes(of: dGate, toByteOffset: 4 * i, as: V.self)
                i += V.scalarCount
            }
            while i < range.upperBound {
                let x = gate[i], dh = dout[i], sigma = 1 / (1 + FastExp.exp(-x))
                let dUp = dh * x * sigma, dGate = dh * up[i] * sigma * (1 + x * (1 - sigma))
                if accumulate { dup[i] += dUp; dgate[i] += dGate } else { dup[i] = dUp; dgate[i] = dGate }
                i += 1
            }
        }
    }
}
