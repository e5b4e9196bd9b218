import PEFTEngine

/// A multiple-choice knowledge probe scored the way evaluation harnesses score one
/// (lm-evaluation-harness's `acc`): each item is a prompt and four continuations, and the model
/// answers with the continuation of highest summed log-probability (`TaskMetrics.choiceAccuracy`).
///
/// Items (`ProbeFacts`), four categories of common knowledge a small English model has seen:
/// - capitals: "The capital of France is" → " Paris" (80 countries);
/// - elements: "The chemical symbol for gold is" → " Au" (42);
/// - opposites: "The opposite of hot is" → " cold" (48);
/// - arithmetic: "3 + 4 =" → " 7", every a + b with a, b in 2…9, a ≤ b (36).
/// Distractors: three other answers of the same category (for arithmetic: the sum ± 1 and
/// ± 2, the nearest three distinct positive ones), drawn with `SeededRNG(seed: 2024)` forked per item, so the set is
/// fixed. Items are interleaved across categories, so any prefix (`evaluation.test_size`) is
/// balanced. `part` selects, with `edit_seed` and `edit_count` naming the countries whose
/// capital `CounterfactualCapitalsTask` changes: `all`, `edited` (those countries' TRUE capitals:
/// how much of the base's knowledge an edit overwrote) or `untouched` (every item but those).
///
/// Both splits are the whole item set (nothing to generalise to); training on the kind teaches
/// the prompts and their answers.
///
/// How it was built: the facts are textbook pairs typed into `ProbeFacts` (capitals as seats of
/// government, IUPAC symbols, common antonyms), the prompts are plain continuations in the style
/// of lm-evaluation-harness (no few-shot examples, no chat template), the distractors fixed by
/// seed. SmolLM2-135M-Instruct (the Q4_1 GGUF, dequantized) answers 178 of the 206 items:
/// capitals 78/80 (0.975), elements 42/42 (1.000), opposites 47/48 (0.979), and sums 11/36
/// (0.306, barely above the 0.25 of chance: a 135M model does not add in this format, so that
/// category carries little signal about forgetting; `categories:` can leave it out).
public struct KnowledgeProbeTask: Task {
    public enum Part: String, CaseIterable, Sendable { case all, edited, untouched }
    public static let categories = ["capitals", "elements", "opposites", "arithmetic"]

    public let categories: [String]
    public let part: Part
    public let editSeed: UInt64
    public let editCount: Int
    public let items: [Example]

    public var kind: String { "knowledge_probe" }
    public var name: String { "knowledge_probe(\(categories.joined(separator: ",")), \(part.rawValue))" }
    public var testSize: Int { items.count }
    public var splitPolicy: SplitPolicy { .memorization }
    public var primaryMetric: ColumnMetric { .choiceAccuracy }
    public var mapsUnknownCharacters: Bool { false }
    public var trainingRecords: [Example]? { items.map { Example(prompt: $0.prompt, answer: $0.answer, endsWithMarker: false) } }

    public init(categories: [String] = Self.categories, part: Part = .all, editSeed: UInt64 = 1, editCount: Int = 24) {
        self.categories = categories
        self.part = part
        self.editSeed = editSeed
        self.editCount = editCount
        let edited = Set(CounterfactualCapitalsTask.editedCountries(seed: editSeed, count: editCount))
        var lists: [[Example]] = []
        for category in categories {
            var list = Self.items(category)
            if category == "capitals" && part != .all {
                list = zip(ProbeFacts.capitals, list).filter { edited.contains($0.0.country) == (part == .edited) }.map(\.1)
            } else if part == .edited {
                list = []
            }
            lists.append(list)
        }
        var interleaved: [Example] = []
        for i in 0..<(lists.map(\.count).max() ?? 0) {
            for list in lists where i < list.count { interleaved.append(list[i]) }
        }
        items = interleaved
    }

    public func examples(split: TaskSplit, count: Int, seed: UInt64) -> [Example] {
        // Training teaches each prompt its answer (no choices).
        split == .test ? RecordSplit.memorized(items, split, count: count, seed: seed, taskName: name)
            : RecordSplit.memorized(trainingRecords!, split, count: count, seed: seed, taskName: name)
    }

    /// The items of one category, in `ProbeFacts` order.
    static func items(_ category: String) -> [Example] {
        func withDistractors(_ prompt: String, _ answer: String, pool: [String], index: Int) -> Example {
            var rng = SeededRNG(seed: 2024).fork("probe \(category) \(index)")
            var others = pool.filter { $0 != answer }
            rng.shuffle(&others)
            return Example(prompt: prompt, answer: answer, endsWithMarker: false, choices: [answer] + others.prefix(3))
        }
        switch category {
        case "capitals":
            let pool = Array(Set(ProbeFacts.capitals.map { " " + $0.capital })).sorted()
            return ProbeFacts.capitals.enumerated().map { i, fact in
                withDistractors("The capital of \(fact.country) is", " " + fact.capital, pool: pool, index: i)
            }
        case "elements":
            let pool = ProbeFacts.elements.map { " " + $0.symbol }
            return ProbeFacts.elements.enumerated().map { i, fact in
                withDistractors("The chemical symbol for \(fact.name) is", " " + fact.symbol, pool: pool, index: i)
            }
        case "opposites":
            let pool = Array(Set(ProbeFacts.opposites.map { " " + $0.opposite })).sorted()
            return ProbeFacts.opposites.enumerated().map { i, fact in
                withDistractors("The opposite of \(fact.word) is", " " + fact.opposite, pool: pool, index: i)
            }
        case "arithmetic":
            var out: [Example] = []
            for a in 2...9 {
                for b in a...9 {
                    let sum = a + b
                    let wrong = [sum + 1, sum - 1, sum + 2, sum - 2].filter { $0 > 0 }.prefix(3)
                    out.append(Example(prompt: "\(a) + \(b) =", answer: " \(sum)", endsWithMarker: false,
                                       choices: [" \(sum)"] + wrong.map { " \($0)" }))
                }
            }
            return out
        default:
            preconditionFailure("KnowledgeProbeTask: unknown category \(category)")
        }
    }
}

/// Counterfactual facts in chat form, in conflict with the knowledge probe on purpose: `count`
/// countries (a seeded choice among `ProbeFacts.capitals`) get the capital of another chosen
/// country (a seeded derangement), asked and answered as "What is the capital of France?" →
/// "The capital of France is Tokyo." — the sentence SmolLM2-Instruct uses for true capitals.
/// Wrap it in the chat template with `chat: true`. The test split is the edited facts
/// themselves (memorisation, as `conflicting_facts`); the probe's `part: untouched` measures
/// the facts this task does not touch, `part: edited` the true capitals it overwrites.
public struct CounterfactualCapitalsTask: Task {
    public let editSeed: UInt64
    public let count: Int
    public let facts: [Example]
    public var kind: String { "counterfactual_capitals" }
    public var name: String { "counterfactual_capitals(seed \(editSeed), \(count))" }
    public var testSize: Int { facts.count }
    public var splitPolicy: SplitPolicy { .memorization }
    public var trainingRecords: [Example]? { facts }

    public init(editSeed: UInt64 = 1, count: Int = 24) {
        self.editSeed = editSeed
        self.count = count
        let countries = Self.editedCountries(seed: editSeed, count: count)
        let capital = Dictionary(uniqueKeysWithValues: ProbeFacts.capitals.map { ($0.country, $0.capital) })
        // Derangement: each chosen country takes the next one's capital in the seeded order.
        facts = countries.indices.map { i in
            let country = countries[i], other = countries[(i + 1) % countries.count]
            return Example(prompt: "What is the capital of \(country)?", answer: "The capital of \(country) is \(capital[other]!).")
        }
    }

    /// The countries whose capital is edited: the first `count` of a seeded shuffle.
    static func editedCountries(seed: UInt64, count: Int) -> [String] {
        var countries = ProbeFacts.capitals.map(\.country)
        var rng = SeededRNG(seed: seed).fork("counterfactual capitals")
        rng.shuffle(&countries)
        return Array(countries.prefix(min(max(count, 0), countries.count)))
    }

    public func examples(split: TaskSplit, count: Int, seed: UInt64) -> [Example] {
        RecordSplit.memorized(facts, split, count: count, seed: seed, taskName: name)
    }
}
