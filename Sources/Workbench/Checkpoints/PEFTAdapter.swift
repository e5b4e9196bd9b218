import Foundation
import PEFTEngine

/// A Hugging Face peft LoRA (or DoRA) adapter folder: `adapter_config.json` plus
/// `adapter_model.safetensors`.
///
/// Keys, as peft saves them: `base_model.model.<module>.lora_A.weight` [r, in] and
/// `base_model.model.<module>.lora_B.weight` [out, r]; an adapter name before `weight`
/// (`lora_A.default.weight`) is accepted too. DoRA's magnitude is
/// `<module>.lora_magnitude_vector` [out] (also with `.weight` and/or an adapter name).
/// The module name is the key without the `base_model.model.` prefix and the LoRA suffix; its
/// base weight in a base checkpoint is `<module>.weight`. Keys that are not Linear LoRA
/// factors (embedding LoRA, modules_to_save, biases) are listed in `otherTensorNames`.
///
/// A folder with only `adapter_model.bin` is refused: that is a Python pickle.
public final class PEFTAdapter: @unchecked Sendable {
    public static let configFileName = "adapter_config.json"
    public static let weightsFileName = "adapter_model.safetensors"
    public static let pickleFileName = "adapter_model.bin"

    /// One adapted Linear module.
    public struct Module: Equatable, Sendable {
        /// Module path inside the model, e.g. `model.layers.0.self_attn.q_proj`.
        public let name: String
        /// Tensor names in the adapter file.
        public let loraAName: String, loraBName: String
        public let magnitudeName: String?
        /// r (rows of A, columns of B), in_features, out_features.
        public let rank: Int, inFeatures: Int, outFeatures: Int
        /// This module's alpha and scaling s (see `LoRAAdapterConfig.scaling(for:)`).
        public let alpha: Double, scaling: Double
        /// The base checkpoint's tensor this module adapts: `<name>.weight`.
        public var baseWeightName: String { name + ".weight" }
    }

    public let folder: String
    public let config: LoRAAdapterConfig
    /// The adapter weights file.
    public let file: SafetensorsFile
    /// Adapted modules, sorted by name.
    public let modules: [Module]
    /// Adapter tensors that are not Linear LoRA factors or DoRA magnitudes.
    public let otherTensorNames: [String]

    private static let prefix = "base_model.model."

    /// Opens and validates an adapter folder; errors name the file and the module.
    public init(folder: String) throws {
        self.folder = folder
        let url = URL(fileURLWithPath: folder)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError.missingFile(path: folder)
        }
        let weights = url.appendingPathComponent(Self.weightsFileName).path
        let pickle = url.appendingPathComponent(Self.pickleFileName).path
        if !FileManager.default.fileExists(atPath: weights) {
            if FileManager.default.fileExists(atPath: pickle) { throw CheckpointError.pickleRefused(path: pickle) }
            throw CheckpointError.missingFile(path: weights)
        }
        config = try LoRAAdapterConfig(contentsOf: url.appendingPathComponent(Self.configFileName).path)
        file = try SafetensorsFile(path: weights)
        (modules, otherTensorNames) = try Self.collectModules(file: file, config: config)
        if let unmatched = Self.unmatchedTarget(config.targetModules, modules: modules.map(\.name)) {
            throw CheckpointError.invalidAdapterConfig(
                path: url.appendingPathComponent(Self.configFileName).path, key: "target_modules",
                detail: "\(unmatched) matches none of the \(modules.count) modules in \(Self.weightsFileName) (\(modules.prefix(4).map(\.name).joined(separator: ", "))\(modules.count > 4 ? ", …" : ""))")
        }
    }

    /// The first `target_modules` entry (or the regex) that names none of `modules`, as peft
    /// matches them: a name equals the module path or is its last dotted component(s); a regex
    /// must match a whole path. nil when every target matches, or there are none.
    static func unmatchedTarget(_ targets: LoRAAdapterConfig.TargetModules?, modules: [String]) -> String? {
        switch targets {
        case nil: return nil
        case .names(let names):
            return names.first { name in !modules.contains { $0 == name || $0.hasSuffix("." + name) } }.map { "'\($0)'" }
        case .regex(let pattern):
            guard let regex = try? Regex(pattern) else { return "the regex '\(pattern)' (invalid)" }
            return modules.contains { (try? regex.wholeMatch(in: $0)) != nil } ? nil : "the regex '\(pattern)'"
        }
    }

    /// The module called `name`, or nil.
    public func module(named name: String) -> Module? { modules.first { $0.name == name } }

    /// The factors of `module`: A [r, in] and B [out, r], as stored.
    public func factors(of module: Module) throws -> (a: Tensor, b: Tensor) {
        (try file.tensor(named: module.loraAName), try file.tensor(named: module.loraBName))
    }

    /// DoRA's magnitude m [out] of `module`, or nil when the adapter is plain LoRA.
    public func magnitude(of module: Module) throws -> Tensor? {
        try module.magnitudeName.map { try file.tensor(named: $0) }
    }

    /// What a key of the adapter file is: (module, role, accepted) or nil for other tensors.
    enum Role { case loraA, loraB, magnitude }

    static func parseKey(_ key: String) -> (module: String, role: Role)? {
        var components = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let markerIndex = components.lastIndex(where: { ["lora_A", "lora_B", "lora_magnitude_vector"].contains($0) }),
              markerIndex > 0 else { return nil }
        let marker = components[markerIndex]
        let tail = Array(components[(markerIndex + 1)...])
        switch marker {
        case "lora_A", "lora_B":
            // "weight" or "<adapter>.weight"
            guard tail.last == "weight", tail.count <= 2 else { return nil }
        default:
            // "", "weight", "<adapter>", "<adapter>.weight"
            guard tail.count <= 2, tail.count < 2 || tail.last == "weight" else { return nil }
        }
        components.removeSubrange(markerIndex...)
        var module = components.joined(separator: ".")
        if module.hasPrefix(prefix) { module.removeFirst(prefix.count) }
        let role: Role = marker == "lora_A" ? .loraA : marker == "lora_B" ? .loraB : .magnitude
        return (module, role)
    }

    private static func collectModules(file: SafetensorsFile, config: LoRAAdapterConfig) throws -> ([Module], [String]) {
        var parts: [String: [Role: String]] = [:]
        var others: [String] = []
        for key in file.names {
            guard let (module, role) = parseKey(key) else { others.append(key); continue }
            if let existing = parts[module]?[role] {
                throw CheckpointError.invalidLoRAModule(
                    path: file.path, module: module, detail: "two tensors for the same factor: '\(existing)' and '\(key)'")
            }
            parts[module, default: [:]][role] = key
        }
        var modules: [Module] = []
        for (name, roles) in parts.sorted(by: { $0.key < $1.key }) {
            func fail(_ detail: String) -> CheckpointError { .invalidLoRAModule(path: file.path, module: name, detail: detail) }
            guard let aName = roles[.loraA] else { throw fail("lora_A is missing") }
            guard let bName = roles[.loraB] else { throw fail("lora_B is missing") }
            let a = try file.info(aName), b = try file.info(bName)
            guard a.shape.count == 2 else { throw fail("lora_A has shape \(a.shape); the workbench reads Linear LoRA (rank-2 factors)") }
            guard b.shape.count == 2 else { throw fail("lora_B has shape \(b.shape); the workbench reads Linear LoRA (rank-2 factors)") }
            guard a.shape[0] == b.shape[1] else {
                throw fail("lora_A \(a.shape) and lora_B \(b.shape) disagree on r (A is [r, in], B is [out, r])")
            }
            let rank = config.rank(for: name)
            guard a.shape[0] == rank else {
                throw fail("factors have r = \(a.shape[0]) but adapter_config.json gives r = \(rank) for this module")
            }
            if let m = roles[.magnitude] {
                let shape = try file.info(m).shape
                guard shape == [b.shape[0]] else { throw fail("lora_magnitude_vector has shape \(shape), expected [\(b.shape[0])]") }
            } else if config.useDoRA {
                throw fail("use_dora is set but lora_magnitude_vector is missing")
            }
            modules.append(Module(
                name: name, loraAName: aName, loraBName: bName, magnitudeName: roles[.magnitude],
                rank: rank, inFeatures: a.shape[1], outFeatures: b.shape[0],
                alpha: config.alpha(for: name), scaling: config.scaling(for: name)))
        }
        return (modules, others)
    }
}
