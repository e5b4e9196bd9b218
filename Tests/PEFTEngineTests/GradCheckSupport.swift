import Testing
@testable import PEFTEngine

/// Central finite differences against analytic gradients.
///
/// Precision: forwards run in Float32 (the engine's only precision); the scalar being
/// differentiated (Σ y·dy or the loss) is accumulated in Double. With step `epsilon` the
/// truncation error is O(ε²) and the rounding noise ≈ 1e-7·|f|/ε, so ε = 1e-2 balances
/// both; an entry passes when |analytic − numeric| ≤ absolute + relative·max(|analytic|, |numeric|).
enum GradCheck {
    /// Finite-difference step for kernel checks.
    static let epsilon: Float = 1e-2
    /// Absolute part of the pass criterion (kernels).
    static let absoluteTolerance = 5e-3
    /// Relative part of the pass criterion (kernels).
    static let relativeTolerance = 2e-2

    struct Failure: CustomStringConvertible {
        var name: String, index: Int, analytic: Double, numeric: Double
        var relativeError: Double { abs(analytic - numeric) / max(abs(analytic), abs(numeric), 1e-12) }
        var description: String {
            "\(name)[\(index)]: analytic \(analytic), numeric \(numeric), relative error \(relativeError)"
        }
    }

    /// Checks `analytic[i]` against (f(x + ε eᵢ) − f(x − ε eᵢ)) / 2ε for each i in `indices`
    /// (all when nil), perturbing `input` in place and restoring it.
    static func check(
        _ name: String, input: inout [Float], analytic: [Float], indices: [Int]? = nil,
        epsilon: Float = epsilon, absolute: Double = absoluteTolerance, relative: Double = relativeTolerance,
        scalar: ([Float]) -> Double
    ) -> [Failure] {
        var failures: [Failure] = []
        for i in indices ?? Array(input.indices) {
            let saved = input[i]
            input[i] = saved + epsilon
            let plus = scalar(input)
            input[i] = saved - epsilon
            let minus = scalar(input)
            input[i] = saved
            let numeric = (plus - minus) / (2 * Double(epsilon))
            let a = Double(analytic[i])
            if abs(a - numeric) > absolute + relative * max(abs(a), abs(numeric)) {
                failures.append(Failure(name: name, index: i, analytic: a, numeric: numeric))
            }
        }
        return failures
    }

    /// `check` for a tensor that lives in an arena (a model's or a method's parameters):
    /// `value[i]` is perturbed in place and restored, `loss` recomputes the scalar.
    static func check(
        _ name: String, value: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, indices: [Int],
        loss: () -> Double
    ) -> [Failure] {
        var failures: [Failure] = []
        for i in indices {
            let saved = value[i]
            value[i] = saved + epsilon
            let plus = loss()
            value[i] = saved - epsilon
            let minus = loss()
            value[i] = saved
            let numeric = (plus - minus) / (2 * Double(epsilon)), analytic = Double(gradient[i])
            if abs(analytic - numeric) > absoluteTolerance + relativeTolerance * max(abs(analytic), abs(numeric)) {
                failures.append(Failure(name: name, index: i, analytic: analytic, numeric: numeric))
            }
        }
        return failures
    }

    /// Σ y·dy in Double.
    static func dot(_ y: [Float], _ dy: [Float]) -> Double {
        precondition(y.count == dy.count)
        var s: Double = 0
        for i in y.indices { s += Double(y[i]) * Double(dy[i]) }
        return s
    }
}

/// Deterministic test data.
struct TestRandom {
    var rng: SplitMix64
    init(seed: UInt64) { rng = SplitMix64(seed: seed) }
    /// `count` normals scaled by `scale`.
    mutating func normals(_ count: Int, scale: Float = 1) -> [Float] {
        (0..<count).map { _ in scale * rng.normal() }
    }
    /// Uniform integer in 0..<n.
    mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
}

/// Pointer helpers for calling kernels on arrays in tests.
func withPointers<R>(_ a: [Float], _ body: (UnsafePointer<Float>) -> R) -> R {
    a.withUnsafeBufferPointer { body($0.baseAddress!) }
}
