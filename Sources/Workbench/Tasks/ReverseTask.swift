import Foundation
import PEFTEngine

/// Reverse a string of lowercase letters: "rev:abc=" → "cba" (fine-tuning task; shares the
/// input distribution of `CopyTask` but asks for the opposite order).
public struct ReverseTask: GeneratedTask {
    public var lengths: ClosedRange<Int>
    public var testSize: Int
    public var kind: String { "reverse" }
    public var name: String { "reverse(\(lengths.lowerBound)-\(lengths.upperBound))" }

    public init(lengths: ClosedRange<Int> = 1...8, testSize: Int = TaskDefaults.testSize) {
        precondition(lengths.lowerBound >= 1, "reverse: lengths must start at ≥ 1")
        self.lengths = lengths
        self.testSize = testSize
    }

    /// Σ over lengths n of 26^n.
    public var promptSpace: Double { lengths.reduce(0.0) { $0 + pow(26.0, Double($1)) } }

    public func generate(using rng: inout SeededRNG) -> Example {
        let s = CharacterPool.string(from: CharacterPool.lowercase, lengths: lengths, rng: &rng)
        return Example(prompt: "rev:\(s)=", answer: String(s.reversed()))
    }
}
