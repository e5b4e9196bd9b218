import PEFTEngine

/// One configuration of one method, as expanded from a `methods:` entry.
///
/// An entry with list values is a sweep: `{method: lora, r: [1, 4], lora_alpha: [8, 16]}`
/// expands to the cartesian product, four runs labelled `lora r=1 lora_alpha=8`, … in
/// the order the keys and values are written (the last key varies fastest).
public struct MethodRun: Sendable {
    /// Unique within the study; names the run's results.
    public var label: String
    public var methodName: String
    /// Decoded through the method's own configuration type and validated against the model.
    public var configuration: any PEFTMethodConfiguration
    public var fineTuningProtocol: FineTuningProtocol
    /// `steps` / `lr` / `batch` given on the method entry; they win over task overrides.
    public var overrides: TrainingOverrides
    /// The swept keys and this run's value of each, in document order.
    public var sweep: [(key: String, value: StudyValue)]
    /// The method's own fields for this run (swept or not), as written.
    public var fields: [String: StudyValue]
    /// `methods[i]` and its line, for the runner's errors.
    public var keyPath: String
    public var line: Int?

    /// Settings for fine-tuning on `task`: `training` ← task overrides ← method overrides
    /// (later wins), so `{method: full, lr: 3e-4}` sets the lr on every task.
    public func training(for task: TaskSpec, defaults: TrainingSettings) -> TrainingSettings {
        defaults.applying(task.overrides).applying(overrides)
    }
}
