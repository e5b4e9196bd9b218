import PEFTEngine

/// Intruder dimensions (Shuttleworth, Zweiger, Chan, Kim, Haupt, Andreas, Hu & Brown, "LoRA vs
/// Full Fine-tuning: An Illusion of Equivalence", 2024): singular directions of the fine-tuned
/// weight that the pre-trained weight does not have.
///
/// With W = W₀ + ΔW (m×n), uᵢ the i-th left singular vector of W (i < k) and u⁰ⱼ the left
/// singular vectors of W₀ (thin SVD: all min(m, n) of them), uᵢ is an **intruder** when
///
///     maxⱼ |⟨uᵢ, u⁰ⱼ⟩| < ε        (defaults k = 10, ε = 0.5).
///
/// Reported: the per-vector max |cos|, the intruders' indices and count, and their share of the
/// top-k energy Σ_{i intruder} σᵢ(W)² / Σ_{i<k} σᵢ(W)².
///
/// **Null statistic.** At small widths even random directions have no large cosine with any of
/// min(m, n) fixed orthonormal vectors (the typical max |cos| of a random unit vector in ℝᵐ
/// against d ≤ m basis vectors is about √(2·ln d / m)). So the same test is applied to
/// `nullSamples` random unit vectors (Gaussian, normalised; seeded): the fraction that would
/// count as intruders and their mean max |cos|. An intruder count well above
/// k × `null.intruderFraction` is evidence; one near it is not.
public struct IntruderDimensions: Sendable, Equatable {
    /// The same test applied to random unit vectors in ℝᵐ.
    public struct NullStatistic: Sendable, Equatable {
        /// Random unit vectors drawn.
        public let samples: Int
        /// The seed they were drawn from.
        public let seed: UInt64
        /// Fraction of them whose max |cos| with W₀'s left singular vectors is below ε.
        public let intruderFraction: Double
        /// Mean over them of that max |cos|.
        public let meanMaxAbsCosine: Double
    }

    /// k: leading singular vectors of W examined.
    public let k: Int
    /// ε: the cosine threshold.
    public let epsilon: Double
    /// For each of W's top-k left singular vectors, maxⱼ |⟨uᵢ, u⁰ⱼ⟩| (length k).
    public let maxAbsCosine: [Double]
    /// Indices i < k (0-based, by descending σᵢ(W)) whose max |cos| is below ε, ascending.
    public let intruderIndices: [Int]
    /// σᵢ(W)² summed over the intruders, divided by the sum over the top k (0 if W = 0).
    public let intruderEnergyShare: Double
    /// The random-direction reference.
    public let null: NullStatistic

    /// Number of intruder dimensions.
    public var count: Int { intruderIndices.count }

    /// Finds the intruder dimensions of W₀ + ΔW relative to W₀ (same shape m×n).
    ///
    /// - Parameters:
    ///   - k: 1 ≤ k ≤ min(m, n).
    ///   - epsilon: threshold in (0, 1].
    ///   - nullSamples: random unit vectors for the null, ≥ 1.
    ///   - seed: seeds the null's vectors, drawn row by row from `SeededRNG(seed:)`.
    /// - Throws: `SVDError` for non-finite input or a LAPACK failure.
    public static func find(
        base w0: Tensor, update deltaW: Tensor, k: Int = 10, epsilon: Double = 0.5,
        nullSamples: Int = 1000, seed: UInt64 = 0
    ) throws -> IntruderDimensions {
        precondition(
            w0.rank == 2 && w0.shape == deltaW.shape,
            "IntruderDimensions: W₀ \(w0.shape) and ΔW \(deltaW.shape) must be matrices of one shape")
        let m = w0.shape[0], n = w0.shape[1]
        precondition(k >= 1 && k <= min(m, n), "IntruderDimensions: k = \(k) outside 1…\(min(m, n))")
        precondition(epsilon > 0 && epsilon <= 1, "IntruderDimensions: epsilon = \(epsilon) outside (0, 1]")
        precondition(nullSamples >= 1, "IntruderDimensions: nullSamples must be ≥ 1, got \(nullSamples)")

        let (u0, _, _) = try SVD.decompose(w0, mode: .thin)             // m × min(m, n)
        let (uw, sw, _) = try SVD.decompose(w0 + deltaW, mode: .thin)
        let top = topVectors(baseLeftVectors: u0, tunedLeftVectors: uw, tunedSingularValues: sw, k: k, epsilon: epsilon)
        return IntruderDimensions(
            k: k, epsilon: epsilon, maxAbsCosine: top.maxAbsCosine, intruderIndices: top.intruderIndices,
            intruderEnergyShare: top.energyShare,
            null: nullStatistic(baseLeftVectors: u0, epsilon: epsilon, samples: nullSamples, seed: seed))
    }

    /// The intruder test on factors already computed: the top-k left singular vectors of W (columns
    /// of `tunedLeftVectors`, values `tunedSingularValues`) against all of W₀'s (`baseLeftVectors`).
    public static func topVectors(
        baseLeftVectors u0: Tensor, tunedLeftVectors uw: Tensor, tunedSingularValues sw: [Float], k: Int, epsilon: Double
    ) -> (maxAbsCosine: [Double], intruderIndices: [Int], energyShare: Double) {
        precondition(k >= 1 && k <= min(uw.shape[1], sw.count), "IntruderDimensions: k = \(k) outside 1…\(min(uw.shape[1], sw.count))")
        precondition(epsilon > 0 && epsilon <= 1, "IntruderDimensions: epsilon = \(epsilon) outside (0, 1]")
        let cosines = Tensor.matmul(uw.columns(in: 0..<k), u0, transposeA: true)   // k × min(m, n)
        let maxCos = maxAbsPerRow(cosines)
        var intruders: [Int] = []
        var intruderEnergy = 0.0, topEnergy = 0.0
        for i in 0..<k {
            let energy = Double(sw[i]) * Double(sw[i])
            topEnergy += energy
            if maxCos[i] < epsilon {
                intruders.append(i)
                intruderEnergy += energy
            }
        }
        return (maxCos, intruders, topEnergy > 0 ? intruderEnergy / topEnergy : 0)
    }

    /// The null: `samples` Gaussian unit vectors of length m from `SeededRNG(seed:)`, the fraction
    /// whose max |cos| with W₀'s left singular vectors is below ε, and the mean of that max. It
    /// depends only on W₀, so callers analysing many updates of one W₀ compute it once.
    public static func nullStatistic(baseLeftVectors u0: Tensor, epsilon: Double, samples: Int, seed: UInt64) -> NullStatistic {
        let nullMax = nullMaxAbsCosines(baseLeftVectors: u0, samples: samples, seed: seed)
        var below = 0, sum = 0.0
        for value in nullMax {
            if value < epsilon { below += 1 }
            sum += value
        }
        return NullStatistic(samples: samples, seed: seed, intruderFraction: Double(below) / Double(samples),
                             meanMaxAbsCosine: sum / Double(samples))
    }

    /// The null's raw draws: for each of `samples` Gaussian unit vectors of length m from
    /// `SeededRNG(seed:)` (one per row), its max |cos| with W₀'s left singular vectors. The null
    /// intruder fraction at any ε is the fraction of these below ε (an ε sweep reuses them).
    public static func nullMaxAbsCosines(baseLeftVectors u0: Tensor, samples: Int, seed: UInt64) -> [Double] {
        precondition(samples >= 1, "IntruderDimensions: nullSamples must be ≥ 1, got \(samples)")
        var rng = SeededRNG(seed: seed)
        var directions = Tensor.normal([samples, u0.shape[0]], rng: &rng)   // one random vector per row
        normalizeRows(&directions)
        return maxAbsPerRow(Tensor.matmul(directions, u0))                 // samples × min(m, n) → max per row
    }

    /// Fraction of `maxAbsCosines` below ε: the intruder fraction of those vectors at threshold ε.
    public static func fractionBelow(_ maxAbsCosines: [Double], epsilon: Double) -> Double {
        guard !maxAbsCosines.isEmpty else { return 0 }
        return Double(maxAbsCosines.filter { $0 < epsilon }.count) / Double(maxAbsCosines.count)
    }

    /// maxⱼ |xᵢⱼ| for each row i of a rank-2 tensor.
    static func maxAbsPerRow(_ x: Tensor) -> [Double] {
        let rows = x.shape[0], columns = x.shape[1]
        var out = [Double](repeating: 0, count: rows)
        x.storage.withUnsafeBufferPointer { x in
            for i in 0..<rows {
                var best: Float = 0
                for j in 0..<columns { best = max(best, abs(x[i * columns + j])) }
                out[i] = Double(best)
            }
        }
        return out
    }

    /// Scales every row to unit Euclidean norm (norms in Double); a zero row stays zero
    /// (probability zero for Gaussian rows).
    static func normalizeRows(_ x: inout Tensor) {
        let rows = x.shape[0], columns = x.shape[1]
        x.storage.withUnsafeMutableBufferPointer { x in
            for i in 0..<rows {
                var norm2 = 0.0
                for j in 0..<columns { norm2 += Double(x[i * columns + j]) * Double(x[i * columns + j]) }
                if norm2 == 0 { continue }
                let scale = Float(1 / norm2.squareRoot())
                for j in 0..<columns { x[i * columns + j] *= scale }
            }
        }
    }
}
