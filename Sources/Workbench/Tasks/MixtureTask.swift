import PEFTEngine

/// Several tasks trained together (e.g. the base-skill pretraining mixture).
///
/// Train: `count` examples split as evenly as possible over the components (the first
/// `count mod n` components get one more), each drawn with the SAME `seed` (so each component's
/// train draws exclude its own test split), then the whole list shuffled with
/// `SeededRNG(seed: seed).fork("mixture order")`. Test: the components' test splits concatenated in order
/// (`testSize` = Σ component test sizes); evaluate components separately for per-skill metrics.
/// Each component keeps its own split guarantee, and prompts carry a task tag ("copy:",
/// "add:", …), so one component's train examples do not hit another's test prompts.
public struct MixtureTask: Task {
    public var components: [any Task]
    public var kind: String { "mixture" }
    public var name: String { "mixture(" + components.map(\.name).joined(separator: ", ") + ")" }
    public var testSize: Int { components.reduce(0) { $0 + $1.testSize } }
    public var isLanguageModelling: Bool { false }
    /// The components' common policy, or `.perComponent` when they differ (e.g. base skills,
    /// which mix disjoint generators with a memorised fact table).
    public var splitPolicy: SplitPolicy {
        let policies = Set(components.map(\.splitPolicy))
        return policies.count == 1 ? policies.first! : .perComponent
    }
    public var mapsUnknownCharacters: Bool { components.contains { $0.mapsUnknownCharacters } }

    public init(components: [any Task]) {
        precondition(!components.isEmpty, "mixture: needs at least one component")
        self.components = components
    }

    public func examples(split: TaskSplit, count: Int, seed: UInt64) -> [Example] {
        switch split {
        case .test:
            precondition(count <= testSize, "\(name): asked for \(count) test examples, the test split has \(testSize)")
            let all = components.flatMap { $0.examples(split: .test, count: $0.testSize, seed: seed) }
            return Array(all.prefix(count))
        case .train:
            let n = components.count
            var out: [Example] = []
            for (i, task) in components.enumerated() {
                let share = count / n + (i < count % n ? 1 : 0)
                out += task.examples(split: .train, count: share, seed: seed)
            }
            var rng = SeededRNG(seed: seed).fork("mixture order")
            rng.shuffle(&out)
            return out
        }
    }
}
