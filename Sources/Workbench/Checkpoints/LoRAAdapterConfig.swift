import Foundation

/// The fields of a peft `adapter_config.json` (peft_type "LORA") that determine ΔW.
///
/// Field names are peft's. `peft_type`, `r` and `lora_alpha` are required (peft always writes
/// them); the others default as in peft's `LoraConfig`: `use_rslora` false, `rank_pattern` and
/// `alpha_pattern` empty, `fan_in_fan_out` false, `use_dora` false, `target_modules` absent.
/// Unknown fields are ignored.
///
/// Per-module rank and alpha (`rank(for:)`, `alpha(for:)`): a pattern key K matches module name
/// M when M == K, or when M matches the regular expression `(.*\.)?(K)` in full, i.e. K
/// (as a regex) matches M or a dot-separated suffix of it — peft's `get_pattern_key` rule. When
/// several keys match, an exact match wins, then the longest key, then the lexicographically
/// smallest (peft takes the first in the JSON object's order, which only differs when two
/// patterns match the same module). A key that is not a valid regex matches by name only.
public struct LoRAAdapterConfig: Equatable, Sendable {
    /// `target_modules`: a list of names/suffixes or one regular expression.
    public enum TargetModules: Equatable, Sendable {
        case names([String])
        case regex(String)
    }

    public var r: Int
    public var loraAlpha: Double
    public var useRSLoRA: Bool
    public var rankPattern: [String: Int]
    public var alphaPattern: [String: Double]
    public var fanInFanOut: Bool
    public var useDoRA: Bool
    public var targetModules: TargetModules?
    public var baseModelNameOrPath: String?

    public init(
        r: Int, loraAlpha: Double, useRSLoRA: Bool = false, rankPattern: [String: Int] = [:],
        alphaPattern: [String: Double] = [:], fanInFanOut: Bool = false, useDoRA: Bool = false,
        targetModules: TargetModules? = nil, baseModelNameOrPath: String? = nil
    ) {
        precondition(r > 0, "LoRAAdapterConfig: r must be positive, got \(r)")
        self.r = r
        self.loraAlpha = loraAlpha
        self.useRSLoRA = useRSLoRA
        self.rankPattern = rankPattern
        self.alphaPattern = alphaPattern
        self.fanInFanOut = fanInFanOut
        self.useDoRA = useDoRA
        self.targetModules = targetModules
        self.baseModelNameOrPath = baseModelNameOrPath
    }

    /// Reads and validates `adapter_config.json`; errors name the file and the key.
    public init(contentsOf path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError.missingFile(path: path) }
        let root: [String: CheckpointJSON]
        do {
            guard let object = try CheckpointJSON.parse(Data(contentsOf: URL(fileURLWithPath: path))).objectValue else {
                throw CheckpointError.invalidAdapterConfig(path: path, key: "(top level)", detail: "not a JSON object")
            }
            root = object
            if let duplicate = CheckpointJSON.duplicateTopLevelKey(in: try Data(contentsOf: URL(fileURLWithPath: path))) {
                throw CheckpointError.invalidAdapterConfig(path: path, key: duplicate, detail: "appears twice (a JSON reader keeps either value: refused)")
            }
        } catch let error as CheckpointError { throw error } catch {
            throw CheckpointError.invalidAdapterConfig(path: path, key: "(top level)", detail: "invalid JSON: \(error)")
        }
        func fail(_ key: String, _ detail: String) -> CheckpointError {
            .invalidAdapterConfig(path: path, key: key, detail: detail)
        }
        func optionalBool(_ key: String) throws -> Bool {
            guard let value = root[key], value != .null else { return false }
            guard let b = value.boolValue else { throw fail(key, "is \(value.typeName), expected a boolean") }
            return b
        }
        guard let type = root["peft_type"] else { throw fail("peft_type", "missing") }
        guard type.stringValue == "LORA" else {
            throw fail("peft_type", "is \(type.stringValue.map { "'\($0)'" } ?? type.typeName); the workbench reads LORA adapters")
        }
        guard let rValue = root["r"] else { throw fail("r", "missing") }
        guard let r = rValue.integerValue, r > 0 else { throw fail("r", "must be a positive integer, got \(rValue)") }
        guard let alphaValue = root["lora_alpha"] else { throw fail("lora_alpha", "missing") }
        guard let alpha = alphaValue.doubleValue else { throw fail("lora_alpha", "is \(alphaValue.typeName), expected a number") }
        guard alpha > 0, alpha.isFinite else { throw fail("lora_alpha", "must be a positive number, got \(alphaValue)") }

        var rankPattern: [String: Int] = [:]
        if let value = root["rank_pattern"], value != .null {
            guard let object = value.objectValue else { throw fail("rank_pattern", "is \(value.typeName), expected an object") }
            for (key, item) in object {
                guard let rank = item.integerValue, rank > 0 else { throw fail("rank_pattern.\(key)", "must be a positive integer") }
                rankPattern[key] = rank
            }
        }
        var alphaPattern: [String: Double] = [:]
        if let value = root["alpha_pattern"], value != .null {
            guard let object = value.objectValue else { throw fail("alpha_pattern", "is \(value.typeName), expected an object") }
            for (key, item) in object {
                guard let a = item.doubleValue, a > 0, a.isFinite else { throw fail("alpha_pattern.\(key)", "must be a positive number") }
                alphaPattern[key] = a
            }
        }
        var targets: TargetModules?
        switch root["target_modules"] {
        case nil, .null?: targets = nil
        case .string(let regex)?: targets = .regex(regex)
        case .array(let items)?:
            let names = items.compactMap(\.stringValue)
            guard names.count == items.count else { throw fail("target_modules", "holds a non-string entry") }
            targets = .names(names)
        case let other?: throw fail("target_modules", "is \(other.typeName), expected a list or a string")
        }
        self.init(
            r: r, loraAlpha: alpha, useRSLoRA: try optionalBool("use_rslora"), rankPattern: rankPattern,
            alphaPattern: alphaPattern, fanInFanOut: try optionalBool("fan_in_fan_out"),
            useDoRA: try optionalBool("use_dora"), targetModules: targets,
            baseModelNameOrPath: root["base_model_name_or_path"]?.stringValue)
    }

    /// The rank for `module`: its `rank_pattern` entry, else `r`.
    public func rank(for module: String) -> Int {
        Self.patternKey(in: rankPattern.keys, matching: module).map { rankPattern[$0]! } ?? r
    }

    /// The alpha for `module`: its `alpha_pattern` entry, else `lora_alpha`.
    public func alpha(for module: String) -> Double {
        Self.patternKey(in: alphaPattern.keys, matching: module).map { alphaPattern[$0]! } ?? loraAlpha
    }

    /// s = alpha / r (Hu et al. 2021, LoRA), or alpha / √r with `use_rslora` (Kalajdzievski 2023,
    /// rsLoRA), with this module's r and alpha.
    public func scaling(for module: String) -> Double {
        let rank = Double(rank(for: module))
        return alpha(for: module) / (useRSLoRA ? rank.squareRoot() : rank)
    }

    /// The pattern key that applies to `module` under the rule in the type's comment, or nil.
    public static func patternKey<Keys: Collection>(in keys: Keys, matching module: String) -> String?
    where Keys.Element == String {
        if keys.contains(module) { return module }
        let matching = keys.filter { key in
            if module.hasSuffix("." + key) { return true }
            guard let regex = try? NSRegularExpression(pattern: "^(?:.*\\.)?(?:\(key))$") else { return false }
            return regex.firstMatch(in: module, range: NSRange(module.startIndex..., in: module)) != nil
        }
        return matching.min { ($0.count, $1) > ($1.count, $0) }
    }
}
