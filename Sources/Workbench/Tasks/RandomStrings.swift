import PEFTEngine

/// Character pools and random strings drawn from them, shared by the generated tasks.
public enum CharacterPool {
    public static let lowercase = Array("abcdefghijklmnopqrstuvwxyz")
    public static let digits = Array("0123456789")

    /// A string of length uniform in `lengths`, each character uniform in `pool`.
    public static func string(from pool: [Character], lengths: ClosedRange<Int>, rng: inout SeededRNG) -> String {
        let n = rng.int(in: lengths)
        var s = ""
        for _ in 0..<n { s.append(pool[rng.int(below: pool.count)]) }
        return s
    }
}
