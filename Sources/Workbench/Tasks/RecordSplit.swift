import PEFTEngine

/// Train/test assignment of user records by hashing, and seeded sampling of the train records.
///
/// A record goes to the test split when `h mod 10 000 < round(testPercent · 100)`, where
/// h = splitmix64Finalizer(FNV-1a-64(UTF-8 of the record's key)). The key is the prompt for
/// JSONL records and the window text for text files, so identical prompts always land in the
/// same split (the splits are disjoint by prompt) and adding or removing other records never
/// moves a record between splits. The constants are FNV-1a's (offset basis 0xCBF29CE484222325,
/// prime 0x100000001B3) and SplitMix64's finaliser (Steele et al., OOPSLA 2014).
public enum RecordSplit {
    public static func hash(_ key: String) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in key.utf8 {
            h ^= UInt64(byte)
            h = h &* 0x0000_0100_0000_01B3
        }
        var z = h
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The examples of `split` for a user-data task whose records were split into `train`
    /// and `test`: the test split's first `count` records, or `count` seeded train samples.
    public static func examples(
        _ split: TaskSplit, train: [Example], test: [Example], count: Int, seed: UInt64, taskName: String
    ) -> [Example] {
        switch split {
        case .test: testPrefix(test, count: count, taskName: taskName)
        case .train: sample(train, count: count, seed: seed, taskName: taskName)
        }
    }

    /// Whether a record with this key belongs to the test split.
    public static func isTest(_ key: String, testPercent: Double) -> Bool {
        hash(key) % 10_000 < UInt64((testPercent * 100).rounded())
    }

    /// `count` train examples: successive epochs over `records`, each in the order of a
    /// Fisher–Yates shuffle from `SeededRNG(seed: seed).fork("train epoch <e>")`.
    public static func sample(_ records: [Example], count: Int, seed: UInt64, taskName: String) -> [Example] {
        precondition(count == 0 || !records.isEmpty, "\(taskName): no train records to draw from")
        var out: [Example] = []
        out.reserveCapacity(count)
        var epoch = 0
        var order = Array(records.indices)
        while out.count < count {
            var rng = SeededRNG(seed: seed).fork("train epoch \(epoch)")
            for i in order.indices { order[i] = i }
            rng.shuffle(&order)
            for i in order.prefix(count - out.count) { out.append(records[i]) }
            epoch += 1
        }
        return out
    }

    /// First `count` test records, checked against the split size.
    static func testPrefix(_ records: [Example], count: Int, taskName: String) -> [Example] {
        precondition(count >= 0 && count <= records.count, "\(taskName): asked for \(count) test examples, the test split has \(records.count)")
        return Array(records.prefix(count))
    }

    /// A memorisation task's examples (`SplitPolicy.memorization`): the test split is the first
    /// `count` of `items`, training samples them all (`sample`).
    public static func memorized(_ items: [Example], _ split: TaskSplit, count: Int, seed: UInt64, taskName: String) -> [Example] {
        switch split {
        case .test:
            precondition(count <= items.count, "\(taskName): asked for \(count) test items, there are \(items.count)")
            return Array(items.prefix(count))
        case .train:
            return sample(items, count: count, seed: seed, taskName: taskName)
        }
    }
}
