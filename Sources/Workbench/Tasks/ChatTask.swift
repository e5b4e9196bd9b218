/// A task whose prompts are wrapped in a model's chat template (`chat: true` in a study): each
/// example's prompt becomes the user turn and the assistant's header (`ChatTemplate.prompt`),
/// its answer the assistant's reply, closed by the end-of-answer marker (`<|im_end|>`).
/// Language-modelling examples (empty prompt) and multiple-choice items are wrapped alike.
public struct ChatTask: Task {
    public let inner: any Task
    public let template: ChatTemplate

    public init(_ inner: any Task, template: ChatTemplate) {
        self.inner = inner
        self.template = template
    }

    public var name: String { "chat(\(inner.name))" }
    public var kind: String { inner.kind }
    public var testSize: Int { inner.testSize }
    public var splitPolicy: SplitPolicy { inner.splitPolicy }
    public var isLanguageModelling: Bool { inner.isLanguageModelling }
    public var mapsUnknownCharacters: Bool { inner.mapsUnknownCharacters }
    public var primaryMetric: ColumnMetric { inner.primaryMetric }
    public var trainingRecords: [Example]? { inner.trainingRecords.map { $0.map(wrap) } }

    public func examples(split: TaskSplit, count: Int, seed: UInt64) -> [Example] {
        inner.examples(split: split, count: count, seed: seed).map(wrap)
    }

    func wrap(_ example: Example) -> Example {
        var wrapped = example
        wrapped.prompt = template.prompt(user: example.prompt)
        wrapped.endsWithMarker = true
        return wrapped
    }
}
