import Foundation
import PEFTEngine

/// Sort a string of decimal digits ascending: "sort:3141=" → "1134" (base skill).
public struct SortDigitsTask: GeneratedTask {
    public var lengths: ClosedRange<Int>
    public var testSize: Int
    public var kind: String { "sort_digits" }
    public var name: String { "sort_digits(\(lengths.lowerBound)-\(lengths.upperBound))" }

    public init(lengths: ClosedRange<Int> = 2...8, testSize: Int = TaskDefaults.testSize) {
        precondition(lengths.lowerBound >= 1, "sort_digits: lengths must start at ≥ 1")
        self.lengths = lengths
        self.testSize = testSize
    }

    /// Σ over lengths n of 10^n.
    public var promptSpace: Double { lengths.reduce(0.0) { $0 + pow(10.0, Double($1)) } }

    public func generate(using rng: inout SeededRNG) -> Example {
        let s = CharacterPool.string(from: CharacterPool.digits, lengths: lengths, rng: &rng)
        return Example(prompt: "sort:\(s)=", answer: String(s.sorted()))
    }
}
