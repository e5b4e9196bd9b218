import Foundation
import PEFTEngine

/// Copy a string of lowercase letters: "copy:abc=" → "abc" (base skill).
/// Length uniform in `lengths`; prompt space Σₙ 26ⁿ.
public struct CopyTask: GeneratedTask {
    public var lengths: ClosedRange<Int>
    public var testSize: Int
    public var kind: String { "copy" }
    public var name: String { "copy(\(lengths.lowerBound)-\(lengths.upperBound))" }

    public init(lengths: ClosedRange<Int> = 1...8, testSize: Int = TaskDefaults.testSize) {
        precondition(lengths.lowerBound >= 1, "copy: lengths must start at ≥ 1")
        self.lengths = lengths
        self.testSize = testSize
    }

    /// Σ over lengths n of 26^n.
    public var promptSpace: Double { lengths.reduce(0.0) { $0 + pow(26.0, Double($1)) } }

    public func generate(using rng: inout SeededRNG) -> Example {
        let s = CharacterPool.string(from: CharacterPool.lowercase, lengths: lengths, rng: &rng)
        return Example(prompt: "copy:\(s)=", answer: s)
    }
}
