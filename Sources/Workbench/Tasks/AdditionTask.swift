import Foundation
import PEFTEngine

/// Multi-digit addition: "add:123+45=" → "168" (base skill). Each operand has a digit count
/// uniform in 1…`maxDigits`, then a value uniform among numbers with that many digits (0 counts
/// as one digit), so short and long operands are equally common; no leading zeros.
public struct AdditionTask: GeneratedTask {
    public var maxDigits: Int
    public var testSize: Int
    public var kind: String { "addition" }
    public var name: String { "addition(\(maxDigits) digits)" }

    public init(maxDigits: Int = 3, testSize: Int = TaskDefaults.testSize) {
        precondition((1...9).contains(maxDigits), "addition: max_digits \(maxDigits) outside 1…9")
        self.maxDigits = maxDigits
        self.testSize = testSize
    }

    /// A number with a digit count uniform in 1…maxDigits.
    func operand(_ rng: inout SeededRNG) -> Int {
        let digits = rng.int(in: 1...maxDigits)
        if digits == 1 { return rng.int(below: 10) }
        var low = 1
        for _ in 1..<digits { low *= 10 }
        return rng.int(in: low...(low * 10 - 1))
    }

    /// (10^maxDigits)² ordered operand pairs.
    public var promptSpace: Double { pow(10.0, Double(2 * maxDigits)) }

    public func generate(using rng: inout SeededRNG) -> Example {
        let a = operand(&rng), b = operand(&rng)
        return Example(prompt: "add:\(a)+\(b)=", answer: String(a + b))
    }
}
