/// One task as a study file names it: `{name: mod7, kind: modular_add, modulus: 7, steps: 400}`.
///
/// `kind` selects the generator in the task catalog and every other key except `name`,
/// `steps`, `lr` and `batch` is a parameter of that generator; the runner resolves the kind
/// (an unknown kind is reported there, with this task's key path and line). `name` defaults
/// to the kind and must be unique within its list, because results are stored under it.
public struct TaskSpec: Equatable, Sendable {
    public var name: String
    public var kind: String
    public var parameters: [String: StudyValue]
    /// Replaces the study's `training` values while fine-tuning on this task.
    public var overrides: TrainingOverrides
    /// Where the task was written, for the runner's own errors (e.g. an unknown kind).
    public var keyPath: String
    public var line: Int?

    public init(name: String, kind: String, parameters: [String: StudyValue] = [:],
                overrides: TrainingOverrides = TrainingOverrides(), keyPath: String = "", line: Int? = nil) {
        self.name = name
        self.kind = kind
        self.parameters = parameters
        self.overrides = overrides
        self.keyPath = keyPath
        self.line = line
    }
}
