import PEFTEngine

/// A task whose examples are drawn one at a time from a seeded generator.
///
/// Disjointness (the `examples` implementation below), by `Example.splitKey` (the prompt, or
/// the sentence of a language-modelling example):
/// 1. The test split is drawn FIRST, from the stream `SeededRNG(seed: seed).fork("test")`:
///    examples are generated in order and kept when their prompt has not been seen, until
///    `testSize` distinct prompts are collected. It does not depend on `count` or on the train split.
/// 2. The train split comes from the separate stream `fork("train")`; every generated example
///    whose prompt is in the test set is rejected. Train examples are drawn with replacement
///    (a prompt may recur), so any `count` can be asked for.
/// Both loops trap after `maxAttemptsPerExample · n` draws with a message naming the task, which
/// only happens when the prompt space is too small for `testSize` (a parameter mistake the
/// catalog guards against where it can).
public protocol GeneratedTask: Task {
    /// One example drawn from the task's distribution.
    func generate(using rng: inout SeededRNG) -> Example
    /// Number of distinct prompts the generator can produce (the catalog requires
    /// `testSize` ≤ half of it, so that train examples remain plentiful).
    var promptSpace: Double { get }
}

/// Draw budget before a split is declared impossible.
let maxAttemptsPerExample = 1000

extension GeneratedTask {
    public func examples(split: TaskSplit, count: Int, seed: UInt64) -> [Example] {
        precondition(count >= 0, "\(name): negative example count \(count)")
        let test = testExamples(seed: seed)
        switch split {
        case .test:
            precondition(count <= testSize, "\(name): asked for \(count) test examples, the test split has \(testSize)")
            return Array(test.examples.prefix(count))
        case .train:
            var rng = SeededRNG(seed: seed).fork("train")
            var out: [Example] = []
            out.reserveCapacity(count)
            var attempts = 0
            while out.count < count {
                attempts += 1
                precondition(attempts <= maxAttemptsPerExample * max(count, 1),
                             "\(name): cannot draw train examples outside the test split (prompt space too small for test_size \(testSize))")
                let e = generate(using: &rng)
                if !test.prompts.contains(e.splitKey) { out.append(e) }
            }
            return out
        }
    }

    /// The fixed test split of `seed` and its set of prompts.
    func testExamples(seed: UInt64) -> (examples: [Example], prompts: Set<String>) {
        var rng = SeededRNG(seed: seed).fork("test")
        var examples: [Example] = []
        var prompts = Set<String>()
        var attempts = 0
        while examples.count < testSize {
            attempts += 1
            precondition(attempts <= maxAttemptsPerExample * max(testSize, 1),
                         "\(name): cannot find \(testSize) distinct test prompts (prompt space too small)")
            let e = generate(using: &rng)
            if prompts.insert(e.splitKey).inserted { examples.append(e) }
        }
        return (examples, prompts)
    }
}

extension SeededRNG {
    /// Uniform integer in 0..<n by rejection (Lemire, "Fast Random Integer Generation in an
    /// Interval", ACM TOMACS 2019): the high word of next()·n, redrawing when the low word falls
    /// below 2⁶⁴ mod n. Own implementation so results never depend on the standard library's.
    public mutating func int(below n: Int) -> Int {
        precondition(n > 0, "int(below:): n = \(n) must be > 0")
        let bound = UInt64(n)
        let threshold = (0 &- bound) % bound
        while true {
            let (high, low) = next().multipliedFullWidth(by: bound)
            if low >= threshold { return Int(high) }
        }
    }

    /// Uniform integer in the closed range.
    public mutating func int(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + int(below: range.upperBound - range.lowerBound + 1)
    }

    /// Fisher–Yates shuffle in place, drawing with `int(below:)` from the last index down.
    public mutating func shuffle<T>(_ a: inout [T]) {
        var i = a.count - 1
        while i > 0 {
            let j = int(below: i + 1)
            a.swapAt(i, j)
            i -= 1
        }
    }
}
