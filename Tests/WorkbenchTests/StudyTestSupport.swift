import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// Test-only stand-in for a low-rank method, named "lora", with peft's field names and
/// typed fields so type errors and the rank check can be exercised on this branch.
/// Its rank check mirrors LoRA's: r ≤ min(d_model, d_ff), the smallest adapted dimension.
struct FakeLoRAConfiguration: PEFTMethodConfiguration, Equatable {
    static let methodName = "lora"
    static let fieldNames = ["r", "lora_alpha", "lora_dropout", "target_modules", "use_rslora"]
    var r = 8
    var loraAlpha = 8.0
    var loraDropout = 0.0
    var targetModules = ["q", "v"]
    var useRslora = false

    enum CodingKeys: String, CodingKey {
        case r, loraAlpha = "lora_alpha", loraDropout = "lora_dropout", targetModules = "target_modules"
        case useRslora = "use_rslora"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        r = try c.decodeIfPresent(Int.self, forKey: .r) ?? r
        loraAlpha = try c.decodeIfPresent(Double.self, forKey: .loraAlpha) ?? loraAlpha
        loraDropout = try c.decodeIfPresent(Double.self, forKey: .loraDropout) ?? loraDropout
        targetModules = try c.decodeIfPresent([String].self, forKey: .targetModules) ?? targetModules
        useRslora = try c.decodeIfPresent(Bool.self, forKey: .useRslora) ?? useRslora
    }

    func validate(for config: ModelConfig) throws {
        let limit = min(config.dModel, config.dFF)
        if r > limit {
            throw PEFTMethodError.invalidConfiguration(
                method: Self.methodName, key: "r", reason: "(\(r)) exceeds the smallest adapted dimension (\(limit))")
        }
    }

    func makeMethod() -> any PEFTMethod { preconditionFailure("test-only configuration: never attached") }
}

/// Names and peft field names of the methods being written on other branches, so the
/// shipped studies parse here; the real registry's types win wherever they exist.
protocol FakeMethodName { static var name: String { get }; static var fields: [String] { get } }
enum FakeQLoRA: FakeMethodName {
    static let name = "qlora"
    static let fields = ["r", "lora_alpha", "lora_dropout", "target_modules", "use_rslora", "bnb_4bit_use_double_quant"]
}
enum FakeDoRA: FakeMethodName { static let name = "dora"; static let fields = FakeLoRAConfiguration.fieldNames }
enum FakeIA3: FakeMethodName { static let name = "ia3"; static let fields = ["target_modules", "feedforward_modules"] }
enum FakeAdapter: FakeMethodName { static let name = "adapter"; static let fields = ["reduction_factor"] }
enum FakePrefix: FakeMethodName { static let name = "prefix"; static let fields = ["num_virtual_tokens", "prefix_projection"] }
enum FakePrompt: FakeMethodName { static let name = "prompt"; static let fields = ["num_virtual_tokens"] }

/// Accepts any of its method's fields as a number, boolean, string or list of strings.
struct FakeConfiguration<Name: FakeMethodName>: PEFTMethodConfiguration {
    static var methodName: String { Name.name }
    static var fieldNames: [String] { Name.fields }
    var values: [String: StudyValue] = [:]

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        for key in c.allKeys {
            if let v = try? c.decode(Int.self, forKey: key) { values[key.stringValue] = .int(v) }
            else if let v = try? c.decode(Double.self, forKey: key) { values[key.stringValue] = .double(v) }
            else if let v = try? c.decode(Bool.self, forKey: key) { values[key.stringValue] = .bool(v) }
            else if let v = try? c.decode([String].self, forKey: key) { values[key.stringValue] = .strings(v) }
            else { values[key.stringValue] = .string(try c.decode(String.self, forKey: key)) }
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for (k, v) in values { try c.encode(v, forKey: Key(stringValue: k)) }
    }

    func validate(for config: ModelConfig) throws {
        if case .int(let r)? = values["r"], r > min(config.dModel, config.dFF) {
            throw PEFTMethodError.invalidConfiguration(method: Name.name, key: "r", reason: "(\(r)) too large")
        }
    }

    func makeMethod() -> any PEFTMethod { preconditionFailure("test-only configuration: never attached") }
}

enum StudyFixtures {
    /// full, bitfit and prompt from PEFTEngine, plus the typed fake "lora".
    static let catalog = MethodCatalog(configurations: [
        FullFineTuning.Configuration.self, BitFit.Configuration.self, FakeLoRAConfiguration.self,
        PromptTuning.Configuration.self,
    ])

    /// The registry, with fakes for every method not registered on this branch.
    static var shippedCatalog: MethodCatalog {
        let fakes: [any PEFTMethodConfiguration.Type] = [
            FakeLoRAConfiguration.self, FakeConfiguration<FakeQLoRA>.self, FakeConfiguration<FakeDoRA>.self,
            FakeConfiguration<FakeIA3>.self, FakeConfiguration<FakeAdapter>.self,
            FakeConfiguration<FakePrefix>.self, FakeConfiguration<FakePrompt>.self,
        ]
        let registered = Set(MethodRegistry.names)
        return MethodCatalog(configurations: MethodRegistry.configurations
            + fakes.filter { !registered.contains($0.methodName) })
    }

    /// A valid study; tests edit one line at a time, so the line numbers below hold.
    static let valid = """
        name: test-study
        seeds: [0]
        model: {d_model: 64, n_layers: 2, n_heads: 4, d_ff: 256, context_length: 32}
        base:
          pretrain: {steps: 100, lr: 3.0e-3, batch: 16, warmup: 10, schedule: cosine}
          skills: [{kind: copy}, {kind: addition, digits: 2}]
        training: {steps: 50, lr: 1.0e-3, batch: 8, warmup: 5}
        evaluation: {test_size: 20, batch: 10}
        tasks:
          - {name: reverse, kind: reverse}
          - {name: mod7, kind: modular_add, modulus: 7, steps: 80}
        methods:
          - {method: full, lr: 3.0e-4}
          - {method: lora, r: [1, 4], lora_alpha: 16}
        output: results/test.h5
        """

    /// `valid` with `old` replaced by `new` (which must occur exactly once).
    static func valid(replacing old: String, with new: String) -> String {
        precondition(valid.components(separatedBy: old).count == 2, "fixture edit must match once: \(old)")
        return valid.replacingOccurrences(of: old, with: new)
    }

    /// Writes `yaml` to a fresh temporary directory as `fileName` and returns its path.
    static func write(_ yaml: String, as fileName: String = "bad-study.yaml") throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("study-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent(fileName).path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func load(_ yaml: String, catalog: MethodCatalog = catalog, workingDirectory: String = "/") throws -> Study {
        try Study.load(contentsOf: try write(yaml), catalog: catalog, workingDirectory: workingDirectory)
    }

    /// The error loading `yaml` throws; records an issue if it loads.
    static func error(loading yaml: String, workingDirectory: String = "/", sourceLocation: SourceLocation = #_sourceLocation) -> StudyError? {
        do {
            _ = try load(yaml, workingDirectory: workingDirectory)
            Issue.record("expected the study to be rejected", sourceLocation: sourceLocation)
            return nil
        } catch let error as StudyError {
            return error
        } catch {
            Issue.record("expected a StudyError, got \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Asserts the rendered message names the file, the key path and the line.
    static func expect(_ error: StudyError?, kind: StudyError.Kind, keyPath: String, line: Int,
                       mentions words: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error else { return }
        let text = error.description
        #expect(error.kind == kind, "\(text)", sourceLocation: sourceLocation)
        #expect(text.contains("bad-study.yaml:\(line):"), "line \(line) missing: \(text)", sourceLocation: sourceLocation)
        #expect(text.contains(" \(keyPath):"), "key path \(keyPath) missing: \(text)", sourceLocation: sourceLocation)
        #expect(error.keyPath == keyPath, "\(text)", sourceLocation: sourceLocation)
        #expect(error.line == line, "\(text)", sourceLocation: sourceLocation)
        for word in words {
            #expect(text.contains(word), "\"\(word)\" missing: \(text)", sourceLocation: sourceLocation)
        }
    }
}
