import PEFTEngine

/// A base task seen through a fixed substitution cipher (fine-tuning task): every lowercase
/// letter is replaced by its image under a random permutation of a…z and every digit by its
/// image under a random permutation of 0…9, in prompt and answer alike; all other characters
/// (":", "=", "+", …) are kept. Both permutations are Fisher–Yates shuffles from
/// `SeededRNG(seed: cipherSeed).fork("letters" / "digits")`.
///
/// The cipher is a bijection on strings, so the base task's split policy carries over: disjoint
/// base prompts stay disjoint.
public struct CipherTask: Task {
    public var base: any Task
    public var cipherSeed: UInt64
    /// Image of each lowercase letter and digit.
    public let mapping: [Character: Character]
    public var kind: String { "cipher" }
    public var name: String { "cipher(\(base.name), seed \(cipherSeed))" }
    public var testSize: Int { base.testSize }
    public var splitPolicy: SplitPolicy { base.splitPolicy }
    public var isLanguageModelling: Bool { base.isLanguageModelling }

    public init(base: any Task, cipherSeed: UInt64) {
        self.base = base
        self.cipherSeed = cipherSeed
        var mapping: [Character: Character] = [:]
        for (label, pool) in [("letters", CharacterPool.lowercase), ("digits", CharacterPool.digits)] {
            var rng = SeededRNG(seed: cipherSeed).fork(label)
            var image = pool
            rng.shuffle(&image)
            for (c, d) in zip(pool, image) { mapping[c] = d }
        }
        self.mapping = mapping
    }

    /// `text` with every letter and digit replaced by its image.
    public func encipher(_ text: String) -> String {
        String(text.map { mapping[$0] ?? $0 })
    }

    public func examples(split: TaskSplit, count: Int, seed: UInt64) -> [Example] {
        base.examples(split: split, count: count, seed: seed).map {
            Example(prompt: encipher($0.prompt), answer: encipher($0.answer), endsWithMarker: $0.endsWithMarker)
        }
    }
}
