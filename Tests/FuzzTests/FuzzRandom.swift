import PEFTEngine

/// The fuzz harness's random source: the engine's `SeededRNG` (xoshiro256**, integer outputs
/// identical everywhere), so that a case is reproduced from its seed alone, on any platform.
typealias FuzzRandom = SeededRNG

extension SeededRNG {
    /// A uniformly chosen element of a non-empty collection.
    mutating func pick<C: Collection>(_ items: C) -> C.Element where C.Index == Int {
        items[items.startIndex + Int.random(in: 0..<items.count, using: &self)]
    }

    /// An integer in `range` (which must not be empty).
    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &self) }

    /// True with probability `p`.
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
}
