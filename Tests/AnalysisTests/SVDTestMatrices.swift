import PEFTEngine

/// Test matrices with a known singular value decomposition, built with plain loops in Float64.

/// SplitMix64 (Steele, Lea & Flood 2014): a seeded, platform-independent generator.
struct SeededGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    mutating func nextSigned() -> Double { Double(next() >> 11) / Double(1 << 52) - 1 }
}

/// A random n×n orthogonal matrix, row-major Float64: the product H₁·H₂·…·Hₙ of Householder
/// reflections Hᵢ = I − 2·vᵢvᵢᵀ / (vᵢᵀvᵢ) with random vᵢ, applied to the identity.
func randomOrthogonal(_ n: Int, generator: inout SeededGenerator) -> [Double] {
    var q = [Double](repeating: 0, count: n * n)
    for i in 0..<n { q[i * n + i] = 1 }
    for _ in 0..<n {
        var v = (0..<n).map { _ in generator.nextSigned() }
        var vv = 0.0
        for x in v { vv += x * x }
        if vv == 0 { v[0] = 1; vv = 1 }
        // Q ← Q · H = Q − (2/vᵀv) · (Q v) vᵀ
        for r in 0..<n {
            var qv = 0.0
            for c in 0..<n { qv += q[r * n + c] * v[c] }
            let scale = 2 * qv / vv
            for c in 0..<n { q[r * n + c] -= scale * v[c] }
        }
    }
    return q
}

/// An m×n matrix A = U · diag(s) · Vᵀ with random orthogonal U (m×m), V (n×n) and the given
/// min(m, n) singular values `s`, rounded to Float32 once at the end.
func matrixWithSpectrum(rows m: Int, columns n: Int, singularValues s: [Double], seed: UInt64) -> Tensor {
    precondition(s.count == min(m, n), "need min(m,n) = \(min(m, n)) singular values, got \(s.count)")
    var generator = SeededGenerator(seed: seed)
    let u = randomOrthogonal(m, generator: &generator)
    let v = randomOrthogonal(n, generator: &generator)
    var a = Tensor(shape: [m, n])
    for i in 0..<m {
        for j in 0..<n {
            var sum = 0.0
            for l in 0..<s.count { sum += u[i * m + l] * s[l] * v[j * n + l] }
            a[i, j] = Float(sum)
        }
    }
    return a
}

/// An m×n matrix of independent uniform entries in [-1, 1).
func randomMatrix(rows m: Int, columns n: Int, seed: UInt64) -> Tensor {
    var generator = SeededGenerator(seed: seed)
    return Tensor(shape: [m, n], storage: (0..<(m * n)).map { _ in Float(generator.nextSigned()) })
}

/// max |(U · diag(s) · Vᵀ − A)ᵢⱼ| / max |Aᵢⱼ| using the first k = s.count columns of U and rows of Vᵀ.
func relativeReconstructionError(u: Tensor, s: [Float], vt: Tensor, of a: Tensor) -> Double {
    var worst = 0.0, scale = 0.0
    for i in 0..<a.rows {
        for j in 0..<a.columns {
            var sum = 0.0
            for l in 0..<s.count { sum += Double(u[i, l]) * Double(s[l]) * Double(vt[l, j]) }
            worst = max(worst, abs(sum - Double(a[i, j])))
            scale = max(scale, abs(Double(a[i, j])))
        }
    }
    return scale == 0 ? worst : worst / scale
}

/// max |QᵀQ − I| over the columns of `q` (pass Vᵀ transposed as rows: see `rowsOrthonormalityError`).
func columnOrthonormalityError(_ q: Tensor) -> Double {
    var worst = 0.0
    for a in 0..<q.columns {
        for b in 0..<q.columns {
            var dot = 0.0
            for r in 0..<q.rows { dot += Double(q[r, a]) * Double(q[r, b]) }
            worst = max(worst, abs(dot - (a == b ? 1 : 0)))
        }
    }
    return worst
}

/// max |Q Qᵀ − I| over the rows of `q`.
func rowOrthonormalityError(_ q: Tensor) -> Double {
    var worst = 0.0
    for a in 0..<q.rows {
        for b in 0..<q.rows {
            var dot = 0.0
            for c in 0..<q.columns { dot += Double(q[a, c]) * Double(q[b, c]) }
            worst = max(worst, abs(dot - (a == b ? 1 : 0)))
        }
    }
    return worst
}
