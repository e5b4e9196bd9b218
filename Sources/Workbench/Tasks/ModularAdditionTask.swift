import PEFTEngine

/// Modular addition: "(a+b)%m=" → "r" with r = (a + b) mod m, a and b uniform in
/// 0…`maxOperand` (fine-tuning task). Prompt space (maxOperand + 1)².
public struct ModularAdditionTask: GeneratedTask {
    public var modulus: Int
    public var maxOperand: Int
    public var testSize: Int
    public var kind: String { "modular_add" }
    public var name: String { "modular_add(m=\(modulus))" }

    public init(modulus: Int, maxOperand: Int = 99, testSize: Int = TaskDefaults.testSize) {
        precondition(modulus >= 1, "modular_add: modulus \(modulus) must be ≥ 1")
        precondition(maxOperand >= 0, "modular_add: max_operand \(maxOperand) must be ≥ 0")
        self.modulus = modulus
        self.maxOperand = maxOperand
        self.testSize = testSize
    }

    /// (maxOperand + 1)² ordered operand pairs.
    public var promptSpace: Double { Double((maxOperand + 1) * (maxOperand + 1)) }

    public func generate(using rng: inout SeededRNG) -> Example {
        let a = rng.int(in: 0...maxOperand), b = rng.int(in: 0...maxOperand)
        return Example(prompt: "(\(a)+\(b))%\(modulus)=", answer: String((a + b) % modulus))
    }
}
