/// One supervised example: the model reads `prompt` and must produce `answer`.
///
/// As a training sequence (see `Batcher`): prompt tokens, answer tokens, then the end-of-answer
/// marker when `endsWithMarker` is true; the loss covers the answer and the marker only.
/// An empty prompt (language-modelling examples) is replaced by a single end-of-answer marker
/// that plays the role of GPT-2's `<|endoftext|>` separator, so the first answer character is
/// predicted too.
public struct Example: Hashable, Sendable, CustomStringConvertible {
    public var prompt: String
    public var answer: String
    /// Whether the end-of-answer marker follows the answer (true for prompt → answer tasks;
    /// false for windows cut out of running text, where no answer "ends").
    public var endsWithMarker: Bool
    /// A multiple-choice item's candidate continuations of `prompt`, `answer` among them (empty
    /// for every other example): scored by summed log-probability (`TaskMetrics.evaluate`).
    public var choices: [String]

    public init(prompt: String, answer: String, endsWithMarker: Bool = true, choices: [String] = []) {
        self.prompt = prompt
        self.answer = answer
        self.endsWithMarker = endsWithMarker
        self.choices = choices
    }

    /// What identifies the example for train/test disjointness: the prompt, or for an
    /// empty-prompt (language-modelling) example the answer text.
    public var splitKey: String { prompt.isEmpty ? answer : prompt }

    public var description: String { "\(prompt.debugDescription) → \(answer.debugDescription)" }
}

/// Which part of a task's examples to draw.
public enum TaskSplit: String, Sendable, CaseIterable, Codable {
    case train, test
}

/// How a task's train and test splits relate.
public enum SplitPolicy: String, Sendable, Codable {
    /// No prompt of the test split ever occurs in the train split (generalisation is measured).
    case disjoint
    /// The test split is the whole set of items to be memorised (fact tables): there is nothing
    /// to generalise to, and recall of the trained items is what forgetting is measured on.
    case memorization
    /// A mixture whose components have different policies: each component keeps its own.
    case perComponent
}
