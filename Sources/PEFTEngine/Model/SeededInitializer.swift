import Foundation

/// Internal, seeded random numbers for weight initialisation.
///
/// SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014; constants from Vigna's reference implementation): state += 0x9E3779B97F4A7C15,
/// then two xor-shift-multiply rounds. Uniforms take the top 24 bits (exactly representable
/// in Float32) in [0, 1); normals use Box–Muller on two uniforms, with the first uniform moved
/// into (0, 1] so log never sees 0.
///
/// Temporary: this will be replaced by the shared RNG of `Random/`; every use goes through
/// `ParameterStore.initialize(seed:)`.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    mutating func uniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Standard normal (Box–Muller, cosine branch only; one normal per two uniforms).
    mutating func normal() -> Float {
        let u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let r = (-2.0 * log(1.0 - u1)).squareRoot()
        return Float(r * cos(2.0 * Double.pi * u2))
    }
}


extension ParameterStore {
    /// GPT-2 initialisation, deterministic in `seed`:
    /// - every linear weight and both embeddings ~ N(0, 0.02²);
    /// - the two residual-output projections (attn.o, mlp.proj) ~ N(0, (0.02/√(2L))²)
    ///   (GPT-2 paper §2.3, as in nanoGPT);
    /// - biases 0, LayerNorm weights 1, LayerNorm biases 0.
    /// LLaMA (transformers' `LlamaPreTrainedModel`): every matrix and the embedding ~ N(0, 0.02²),
    /// RMSNorm gains 1.
    /// Views are filled in enumeration order from one generator stream.
    public func initialize(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        let residualStd = 0.02 / Float(2 * config.layers).squareRoot()
        for v in views {
            let p = values.at(v.offset)
            if v.name.hasSuffix(".bias") {
                p.update(repeating: 0, count: v.count)
            } else if v.name.hasPrefix("ln") || v.name.contains(".ln") {
                p.update(repeating: 1, count: v.count)
            } else {
                let residual = !config.isLlama && (v.name.hasSuffix("attn.o.weight") || v.name.hasSuffix("mlp.proj.weight"))
                let std: Float = residual ? residualStd : 0.02
                for i in 0..<v.count { p[i] = std * rng.normal() }
            }
        }
    }
}
