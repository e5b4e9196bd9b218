import PEFTEngine

/// Sentences of a tiny probabilistic context-free grammar, as a language-modelling task
/// (base skill). Rules (weights in parentheses, choice probability = weight / sum):
///
///     S   → NP VP "."
///     NP  → Det N (3) | Det Adj N (2)
///     VP  → V NP (3) | V (1) | V NP PP (1)
///     PP  → P NP
///     Det → the | a                      N   → cat | dog | bird | fox | child | robot
///     Adj → big | red | old | shy        V   → sees | likes | finds | hits
///     P   → near | with | under          (terminals uniform)
///
/// Modelled as prompt "" + answer = the sentence, so the loss covers the WHOLE sentence: the
/// batcher opens an empty-prompt sequence with the end-of-answer marker as separator, and the
/// sentence's final marker is predicted too. The longest sentence has 55 characters (57 tokens
/// with the two markers). Test/train disjointness is by sentence (`GeneratedTask`).
public struct GrammarTask: GeneratedTask {
    public var testSize: Int
    public var kind: String { "grammar_lm" }
    public var name: String { "grammar_lm" }
    public var isLanguageModelling: Bool { true }

    static let determiners = ["the", "a"]
    static let nouns = ["cat", "dog", "bird", "fox", "child", "robot"]
    static let adjectives = ["big", "red", "old", "shy"]
    static let verbs = ["sees", "likes", "finds", "hits"]
    static let prepositions = ["near", "with", "under"]

    public init(testSize: Int = TaskDefaults.testSize) {
        self.testSize = testSize
    }

    static func pick(_ words: [String], _ rng: inout SeededRNG) -> String {
        words[rng.int(below: words.count)]
    }

    /// Index of a rule drawn with probability weight / Σ weights.
    static func choose(_ weights: [Int], _ rng: inout SeededRNG) -> Int {
        var r = rng.int(below: weights.reduce(0, +))
        for (i, w) in weights.enumerated() {
            if r < w { return i }
            r -= w
        }
        preconditionFailure("unreachable: weights \(weights)")
    }

    static func nounPhrase(_ rng: inout SeededRNG, into words: inout [String]) {
        words.append(pick(determiners, &rng))
        if choose([3, 2], &rng) == 1 { words.append(pick(adjectives, &rng)) }
        words.append(pick(nouns, &rng))
    }

    /// Distinct sentences: NP = |Det|·|N|·(1 + |Adj|), VP = |V|·(NP + 1 + NP·|P|·NP), S = NP·VP.
    public var promptSpace: Double {
        let np = Double(Self.determiners.count * Self.nouns.count * (1 + Self.adjectives.count))
        let vp = Double(Self.verbs.count) * (np + 1 + np * Double(Self.prepositions.count) * np)
        return np * vp
    }

    public func generate(using rng: inout SeededRNG) -> Example {
        var words: [String] = []
        Self.nounPhrase(&rng, into: &words)
        words.append(Self.pick(Self.verbs, &rng))
        switch Self.choose([3, 1, 1], &rng) {
        case 0:
            Self.nounPhrase(&rng, into: &words)
        case 1:
            break
        default:
            Self.nounPhrase(&rng, into: &words)
            words.append(Self.pick(Self.prepositions, &rng))
            Self.nounPhrase(&rng, into: &words)
        }
        return Example(prompt: "", answer: words.joined(separator: " ") + ".")
    }
}
