/// A source of examples for pretraining, fine-tuning and evaluation.
///
/// Contract, checked by `TaskSplitTests` for every kind in the catalog:
/// - `examples(split:count:seed:)` depends only on the task's parameters, the split, `count`
///   and `seed` (no global state, no `Hasher`): the same call gives the same examples on every
///   run and machine.
/// - The test split is a fixed set of `testSize` examples for a given seed; asking for
///   `count` ≤ `testSize` test examples returns the first `count` of them.
/// - With `splitPolicy == .disjoint`, no train example (for the same seed) has a
///   `splitKey` (its prompt, or its text when the prompt is empty) that occurs in the test split. With `.memorization`, the test split is the whole table.
///
/// Note: inside `Workbench` this protocol shadows Swift concurrency's `Task`; write
/// `_Concurrency.Task` there when the concurrency type is meant.
public protocol Task: Sendable {
    /// Display name, e.g. "modular_add(m=7)".
    var name: String { get }
    /// Catalog kind, e.g. "modular_add" (`TaskCatalog.make(kind:parameters:)`).
    var kind: String { get }
    /// Number of examples in the fixed test split.
    var testSize: Int { get }
    var splitPolicy: SplitPolicy { get }
    /// True for language-modelling tasks, whose metrics include perplexity.
    var isLanguageModelling: Bool { get }
    /// True when examples may hold characters outside the vocabulary, to be encoded as
    /// `Vocabulary.unknown` (user data loaded with `map_unknown`); false makes them an error.
    var mapsUnknownCharacters: Bool { get }
    /// What its column of the metric matrix holds (exact match unless the task says otherwise).
    var primaryMetric: ColumnMetric { get }
    /// Every example training can draw, when the task holds them as a finite list (user data,
    /// corpora, fact lists): checked against the context before any training. nil for
    /// generators, whose test split already spans their lengths.
    var trainingRecords: [Example]? { get }
    func examples(split: TaskSplit, count: Int, seed: UInt64) -> [Example]
}

extension Task {
    public var splitPolicy: SplitPolicy { .disjoint }
    public var isLanguageModelling: Bool { false }
    public var mapsUnknownCharacters: Bool { false }
    public var primaryMetric: ColumnMetric { isLanguageModelling ? .meanNLL : .exactMatch }
    public var trainingRecords: [Example]? { nil }
}

/// Default number of test examples of generated tasks.
public enum TaskDefaults {
    public static let testSize = 200
}
