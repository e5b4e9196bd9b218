/// The `base:` block: where the model that every method fine-tunes comes from.
///
/// One of `pretrain:` (train one base per seed on `skills` with these settings), `model:` (a
/// known pretrained model, e.g. `smollm2-135m-instruct`) or `checkpoint:` (a workbench base
/// file, a `.gguf` file or an HF LLaMA folder; the path is resolved against the working
/// directory and must exist when the study is parsed). `skills` are always required: they are
/// the abilities whose retention the study measures after every fine-tuning task.
public struct BaseModelSpec: Equatable, Sendable {
    public enum Source: Equatable, Sendable {
        case pretrain(TrainingSettings)
        /// An absolute path to an existing workbench base checkpoint (HDF5).
        case checkpoint(path: String)
        /// A pretrained LLaMA-family model; its tokenizer encodes every task.
        case pretrained(PretrainedBase)
    }

    public var source: Source
    public var skills: [TaskSpec]

    public init(source: Source, skills: [TaskSpec]) {
        self.source = source
        self.skills = skills
    }

    /// The pretrained model, when the base is one.
    public var pretrained: PretrainedBase? {
        if case .pretrained(let base) = source { return base }
        return nil
    }

    static let keys = ["pretrain", "model", "checkpoint", "skills"]
}

/// How a method meets the sequence of fine-tuning tasks.
public enum FineTuningProtocol: String, Equatable, Hashable, Sendable, CaseIterable {
    /// One set of method parameters trained on task 1, then task 2, … (continual learning;
    /// forgetting is measured on earlier tasks and on the base skills).
    case sequential
    /// A fresh copy of the base for every task: each task's own ceiling, no interference.
    case perTask = "per-task"
    /// Like sequential, but after each task the method's update is merged into the base
    /// weights and a fresh method is attached for the next task.
    case merge
}
