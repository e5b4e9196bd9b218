import PEFTEngine

/// A fixed key → value table to memorise: keys "<prefix><i>" for i = 0..<size (e.g. "k17"),
/// values strings of `valueLength` lowercase letters drawn from `SeededRNG(seed: valueSeed)`,
/// distinct within the table.
///
/// Three uses: the base table (pretraining), a NEW table (another key prefix, so no key is
/// shared) and a CONFLICTING table (`conflicting(with:valueSeed:)`: the base table's keys with
/// a new value for every key — the maximal-interference case of the forgetting literature,
/// cf. the "A–B, A–C" paired-associate paradigm, Barnes & Underwood 1959).
public struct FactTable: Equatable, Sendable {
    public var keyPrefix: String
    public var valueSeed: UInt64
    public var valueLength: Int
    /// (key, value) in key-index order.
    public private(set) var facts: [(key: String, value: String)]

    public static func == (a: FactTable, b: FactTable) -> Bool {
        a.keyPrefix == b.keyPrefix && a.valueSeed == b.valueSeed && a.valueLength == b.valueLength
            && a.facts.map(\.key) == b.facts.map(\.key) && a.facts.map(\.value) == b.facts.map(\.value)
    }

    public init(keyPrefix: String = "k", size: Int = 64, valueSeed: UInt64, valueLength: Int = 3) {
        self.init(keyPrefix: keyPrefix, size: size, valueSeed: valueSeed, valueLength: valueLength, avoiding: nil)
    }

    /// The same keys as `base`, each with a value that differs from `base`'s value for that key.
    public static func conflicting(with base: FactTable, valueSeed: UInt64) -> FactTable {
        precondition(valueSeed != base.valueSeed, "conflicting facts: value seed must differ from the base table's (\(valueSeed))")
        return FactTable(keyPrefix: base.keyPrefix, size: base.facts.count, valueSeed: valueSeed,
                         valueLength: base.valueLength, avoiding: base.facts.map(\.value))
    }

    private init(keyPrefix: String, size: Int, valueSeed: UInt64, valueLength: Int, avoiding: [String]?) {
        precondition(size >= 1, "facts: size \(size) must be ≥ 1")
        precondition(valueLength >= 1, "facts: value length must be ≥ 1")
        var capacity = 1.0
        for _ in 0..<valueLength { capacity *= 26 }
        precondition(Double(size) * 2 <= capacity, "facts: \(size) distinct values of \(valueLength) letters is too many")
        self.keyPrefix = keyPrefix
        self.valueSeed = valueSeed
        self.valueLength = valueLength
        var rng = SeededRNG(seed: valueSeed).fork("fact values")
        var used = Set<String>()
        var facts: [(key: String, value: String)] = []
        for i in 0..<size {
            var value: String
            repeat {
                value = CharacterPool.string(from: CharacterPool.lowercase, lengths: valueLength...valueLength, rng: &rng)
            } while used.contains(value) || avoiding?[i] == value
            used.insert(value)
            facts.append((key: "\(keyPrefix)\(i)", value: value))
        }
        self.facts = facts
    }
}

/// Recall a fact: "fact:k17=" → "abc". A memorisation task: its test split is the whole table
/// in key order (`testSize` = table size) and train examples are facts drawn uniformly with
/// replacement from `fork("train")`; `splitPolicy` is `.memorization`.
public struct FactTask: Task {
    public var table: FactTable
    public var kind: String
    public var name: String { "\(kind)(\(table.keyPrefix)×\(table.facts.count), seed \(table.valueSeed))" }
    public var testSize: Int { table.facts.count }
    public var splitPolicy: SplitPolicy { .memorization }

    /// `kind` is the catalog kind this table was built under ("facts", "conflicting_facts").
    public init(table: FactTable, kind: String = "facts") {
        self.table = table
        self.kind = kind
    }

    public static func example(_ fact: (key: String, value: String)) -> Example {
        Example(prompt: "fact:\(fact.key)=", answer: fact.value)
    }

    public func examples(split: TaskSplit, count: Int, seed: UInt64) -> [Example] {
        precondition(count >= 0, "\(name): negative example count \(count)")
        switch split {
        case .test:
            precondition(count <= testSize, "\(name): asked for \(count) test examples, the table has \(testSize)")
            return table.facts.prefix(count).map(Self.example)
        case .train:
            var rng = SeededRNG(seed: seed).fork("train")
            return (0..<count).map { _ in Self.example(table.facts[rng.int(below: table.facts.count)]) }
        }
    }
}
