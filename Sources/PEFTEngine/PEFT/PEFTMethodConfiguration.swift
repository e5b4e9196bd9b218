/// The hyperparameters of one method, as a study file states them. Field names follow HF
/// peft where the concept is the same (`r`, `lora_alpha`, `lora_dropout`, `target_modules`,
/// `use_rslora`, `num_virtual_tokens`, …), so researchers recognise them.
public protocol PEFTMethodConfiguration: Codable, Sendable {
    /// The registry name of the method this configures.
    static var methodName: String { get }
    /// Every key a study file may give for this method (unknown keys are an error there).
    static var fieldNames: [String] { get }
    /// Checks the values against a model (e.g. `r` no larger than the smallest adapted
    /// matrix); throws `PEFTMethodError.invalidConfiguration` naming the key.
    func validate(for config: ModelConfig) throws
    /// A fresh, unattached method with these hyperparameters.
    func makeMethod() -> any PEFTMethod
    /// Sequence positions the method takes from the context before the tokens (prompt tuning's
    /// soft prompt: `num_virtual_tokens`); 0 for the others.
    var contextPositionsUsed: Int { get }
    /// Key/value positions the method adds beside the sequence in every layer (prefix tuning's
    /// `num_virtual_tokens`); 0 for the others. A model must be built with maxP at least this.
    var prefixPositions: Int { get }
}

extension PEFTMethodConfiguration {
    public var contextPositionsUsed: Int { 0 }
    public var prefixPositions: Int { 0 }
}

/// Every fine-tuning method the workbench knows, by name.
public enum MethodRegistry {
    /// Configuration types in the order methods are listed to users.
    public static let configurations: [any PEFTMethodConfiguration.Type] = [
        FullFineTuning.Configuration.self,
        LoRA.Configuration.self,
        QLoRA.Configuration.self,
        DoRA.Configuration.self,
        HoulsbyAdapter.Configuration.self,
        PrefixTuning.Configuration.self,
        PromptTuning.Configuration.self,
        IA3.Configuration.self,
        BitFit.Configuration.self,
        LNTuning.Configuration.self,
    ]

    /// Registry names, in listing order.
    public static var names: [String] { configurations.map { $0.methodName } }

    /// The configuration type registered as `name`.
    public static func configurationType(named name: String) throws -> any PEFTMethodConfiguration.Type {
        guard let type = configurations.first(where: { $0.methodName == name }) else {
            throw PEFTMethodError.unknownMethod(name, known: names)
        }
        return type
    }

    /// Decodes the configuration of method `name` (e.g. from a study file's method entry).
    public static func decodeConfiguration(named name: String, from decoder: any Decoder) throws -> any PEFTMethodConfiguration {
        try configurationType(named: name).init(from: decoder)
    }
}
