import Analysis
import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// peft LoRA / DoRA adapters: module discovery, per-module rank and alpha, ΔW against numpy's,
/// the rank bound, DoRA's row-norm merge, and refusals.
@Suite("Checkpoint peft adapters")
struct CheckpointPEFTAdapterTests {
    static let qProj = "model.layers.0.self_attn.q_proj", fc1 = "model.layers.0.mlp.fc1"
    /// ΔW is a float32 product of float32 factors; numpy's reference is float64 rounded once.
    static let deltaTolerance: Float = 1e-5
    /// Singular values at or below this fraction of the largest count as zero (float32 SVD).
    static let rankTolerance: Float = 1e-5

    static func adapter() throws -> PEFTAdapter { try PEFTAdapter(folder: CheckpointFixtures.path("lora_adapter")) }

    @Test func modulesRanksAndScalingsFollowTheConfig() throws {
        let adapter = try Self.adapter()
        #expect(adapter.modules.map(\.name) == [Self.fc1, Self.qProj])
        let q = try #require(adapter.module(named: Self.qProj)), f = try #require(adapter.module(named: Self.fc1))
        #expect(q.rank == 4 && q.inFeatures == 5 && q.outFeatures == 6 && q.scaling == 8.0 / 4)
        #expect(f.rank == 2 && f.inFeatures == 5 && f.outFeatures == 7 && f.scaling == 8.0 / 2, "rank_pattern {fc1: 2}")
        #expect(q.baseWeightName == Self.qProj + ".weight")
        #expect(adapter.config.targetModules == .names(["q_proj", "fc1"]))
        #expect(adapter.otherTensorNames.isEmpty)
    }

    @Test(arguments: [qProj, fc1])
    func deltaMatchesNumpyAndScaledProductByHand(module name: String) throws {
        let adapter = try Self.adapter()
        let module = try #require(adapter.module(named: name))
        let delta = try adapter.delta(for: module)
        let expected = try CheckpointFixtures.open("lora_expected.safetensors").tensor(named: name)
        #expect(maxAbsoluteDifference(delta, expected) <= Self.deltaTolerance, "against numpy")

        let (a, b) = try adapter.factors(of: module)
        var byHand = Tensor.matmulReference(b, a)
        byHand.storage = byHand.storage.map { $0 * Float(module.scaling) }
        #expect(maxAbsoluteDifference(delta, byHand) <= Self.deltaTolerance, "s · B · A")
    }

    @Test(arguments: [qProj, fc1])
    func deltaHasAtMostRNonZeroSingularValues(module name: String) throws {
        let adapter = try Self.adapter()
        let module = try #require(adapter.module(named: name))
        let s = try SVD.singularValues(of: adapter.delta(for: module))
        let significant = s.filter { $0 > Self.rankTolerance * s[0] }.count
        #expect(significant == module.rank, "singular values \(s)")
    }

    @Test func loraMergeAddsDeltaToTheBaseWeight() throws {
        let adapter = try Self.adapter()
        let base = try CheckpointSet(path: CheckpointFixtures.path("lora_base"))
        let module = try #require(adapter.module(named: Self.qProj))
        let merged = try adapter.mergedWeight(for: module, base: base)
        let w0 = try base.tensor(named: module.baseWeightName), delta = try adapter.delta(for: module)
        #expect(merged.storage == zip(w0.storage, delta.storage).map { $0 + $1 })
    }

    @Test func doraMergeMatchesNumpyAndHasTheMagnitudeAsRowNorms() throws {
        let adapter = try PEFTAdapter(folder: CheckpointFixtures.path("dora_adapter"))
        let module = try #require(adapter.module(named: Self.qProj))
        #expect(adapter.config.useDoRA && module.magnitudeName != nil && module.scaling == 2)
        let merged = try adapter.mergedWeight(for: module, base: CheckpointSet(path: CheckpointFixtures.path("lora_base")))
        let expected = try CheckpointFixtures.open("dora_expected.safetensors").tensor(named: Self.qProj)
        #expect(maxAbsoluteDifference(merged, expected) <= Self.deltaTolerance)
        let m = try #require(try adapter.magnitude(of: module))
        for i in 0..<merged.rows {
            let norm = (0..<merged.columns).map { merged[i, $0] * merged[i, $0] }.reduce(0, +).squareRoot()
            #expect(abs(norm - m.storage[i]) <= Self.deltaTolerance * max(1, m.storage[i]), "row \(i)")
        }
    }

    @Test func mergeRejectsABaseWeightOfTheWrongShape() throws {
        let adapter = try Self.adapter()
        let module = try #require(adapter.module(named: Self.qProj))
        guard case .invalidLoRAModule(_, let name, _) = checkpointError({
            _ = try adapter.mergedWeight(for: module, base: Tensor(shape: [5, 6]))
        }) else { Issue.record("expected invalidLoRAModule"); return }
        #expect(name == Self.qProj)
    }

    // MARK: Per-module rank and alpha

    @Test func patternKeysMatchExactNameDottedSuffixOrFullRegex() {
        let keys = ["q_proj", "layers.0.self_attn.q_proj", #"model\.layers\.\d+\.mlp\.fc1"#, "k_proj"]
        func key(_ module: String) -> String? { LoRAAdapterConfig.patternKey(in: keys, matching: module) }
        #expect(key("model.layers.0.self_attn.q_proj") == "layers.0.self_attn.q_proj", "longest matching key")
        #expect(key("model.layers.1.self_attn.q_proj") == "q_proj", "suffix after a dot")
        #expect(key("q_proj") == "q_proj", "exact name")
        #expect(key("model.layers.12.mlp.fc1") == #"model\.layers\.\d+\.mlp\.fc1"#, "full regex match")
        #expect(key("model.layers.0.self_attn.xq_proj") == nil, "a suffix must start after a dot")
        #expect(key("model.layers.0.self_attn.v_proj") == nil)
    }

    @Test func rsLoRAScalesByTheSquareRootOfR() {
        let config = LoRAAdapterConfig(r: 16, loraAlpha: 8, useRSLoRA: true, rankPattern: ["fc1": 4], alphaPattern: ["fc1": 6])
        #expect(config.scaling(for: "model.q_proj") == 8.0 / 4)       // 8 / √16
        #expect(config.scaling(for: "model.mlp.fc1") == 6.0 / 2)      // 6 / √4
        let plain = LoRAAdapterConfig(r: 16, loraAlpha: 8, rankPattern: ["fc1": 4], alphaPattern: ["fc1": 6])
        #expect(plain.scaling(for: "model.q_proj") == 0.5 && plain.scaling(for: "model.mlp.fc1") == 1.5)
    }

    // MARK: Adapters written in the test

    /// Writes an adapter folder: `config` JSON and tensors (name → tensor).
    static func writeAdapter(in folder: URL, config: String, tensors: [String: Tensor]) throws {
        try Data(config.utf8).write(to: folder.appendingPathComponent(PEFTAdapter.configFileName))
        var writer = SafetensorsWriter()
        for (name, tensor) in tensors { writer.add(name, tensor) }
        try writer.write(to: folder.appendingPathComponent(PEFTAdapter.weightsFileName).path)
    }

    static func config(_ extra: String = "") -> String {
        #"{"peft_type":"LORA","r":2,"lora_alpha":4,"target_modules":["proj"]\#(extra)}"#
    }

    static let a = Tensor(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6])
    static let b = Tensor(shape: [4, 2], storage: [1, 0, 0, 1, 1, 1, 2, -1])

    @Test func rsLoRAAdapterFromDisk() throws {
        try withTemporaryFolder { folder in
            try Self.writeAdapter(in: folder, config: Self.config(#","use_rslora":true"#), tensors: [
                "base_model.model.m.proj.lora_A.weight": Self.a, "base_model.model.m.proj.lora_B.weight": Self.b,
            ])
            let adapter = try PEFTAdapter(folder: folder.path)
            let module = try #require(adapter.module(named: "m.proj"))
            #expect(module.scaling == 4 / Double(2).squareRoot())
        }
    }

    @Test("a config peft would misread is refused naming the key: lora_alpha ≤ 0, a duplicate key, target_modules matching no module")
    func laxConfigsAreRefused() throws {
        let tensors = ["base_model.model.m.proj.lora_A.weight": Self.a, "base_model.model.m.proj.lora_B.weight": Self.b]
        let cases: [(config: String, key: String, mentions: String)] = [
            (#"{"peft_type":"LORA","r":2,"lora_alpha":0,"target_modules":["proj"]}"#, "lora_alpha", "must be a positive number"),
            (#"{"peft_type":"LORA","r":2,"lora_alpha":-4,"target_modules":["proj"]}"#, "lora_alpha", "must be a positive number"),
            (#"{"peft_type":"LORA","r":2,"r":8,"lora_alpha":4,"target_modules":["proj"]}"#, "r", "appears twice"),
            (#"{"peft_type":"LORA","r":2,"lora_alpha":4,"target_modules":["proj","q_proj"]}"#, "target_modules", "'q_proj' matches none of the 1 modules"),
            (#"{"peft_type":"LORA","r":2,"lora_alpha":4,"target_modules":".*attn.*"}"#, "target_modules", "the regex '.*attn.*'"),
        ]
        for c in cases {
            try withTemporaryFolder { folder in
                try Self.writeAdapter(in: folder, config: c.config, tensors: tensors)
                #expect {
                    try PEFTAdapter(folder: folder.path)
                } throws: { error in
                    guard case CheckpointError.invalidAdapterConfig(_, let key, let detail) = error else { return false }
                    return key == c.key && detail.contains(c.mentions)
                }
            }
        }
        #expect(CheckpointJSON.duplicateTopLevelKey(in: Data(#"{"a":{"r":1,"r":2},"b":"r","c":[{"a":1}]}"#.utf8)) == nil, "nested objects and values do not count")
        #expect(CheckpointJSON.duplicateTopLevelKey(in: Data(#"{"a\"b":1,"x":"a\"b","a\"b":2}"#.utf8)) == #"a\"b"#)
        try withTemporaryFolder { folder in
            try Self.writeAdapter(in: folder, config: #"{"peft_type":"LORA","r":2,"lora_alpha":4,"target_modules":"m\\.pro.*"}"#, tensors: tensors)
            #expect(try PEFTAdapter(folder: folder.path).modules.count == 1, "a regex matching a whole module path is accepted")
        }
    }

    @Test func keysWithAnAdapterNameAreAccepted() throws {
        try withTemporaryFolder { folder in
            try Self.writeAdapter(in: folder, config: Self.config(), tensors: [
                "base_model.model.m.proj.lora_A.default.weight": Self.a,
                "base_model.model.m.proj.lora_B.default.weight": Self.b,
                "base_model.model.m.head.weight": Tensor(shape: [1], storage: [1]),
            ])
            let adapter = try PEFTAdapter(folder: folder.path)
            #expect(adapter.modules.map(\.name) == ["m.proj"])
            #expect(adapter.otherTensorNames == ["base_model.model.m.head.weight"])
            #expect(try adapter.delta(for: adapter.modules[0]) == Tensor.matmulReference(Self.b, Self.a).scaledByTwo())
        }
    }

    @Test func fanInFanOutTransposesDelta() throws {
        try withTemporaryFolder { folder in
            try Self.writeAdapter(in: folder, config: Self.config(#","fan_in_fan_out":true"#), tensors: [
                "base_model.model.m.proj.lora_A.weight": Self.a, "base_model.model.m.proj.lora_B.weight": Self.b,
            ])
            let adapter = try PEFTAdapter(folder: folder.path)
            let delta = try adapter.delta(for: adapter.modules[0])
            #expect(delta == Tensor.matmulReference(Self.b, Self.a).scaledByTwo().transposed())
        }
    }

    @Test func mismatchedFactorsNameTheModule() throws {
        try withTemporaryFolder { folder in
            try Self.writeAdapter(in: folder, config: Self.config(), tensors: [
                "base_model.model.m.proj.lora_A.weight": Self.a,
                "base_model.model.m.proj.lora_B.weight": Tensor(shape: [4, 3]),
            ])
            guard case .invalidLoRAModule(_, let module, let detail) = checkpointError({ _ = try PEFTAdapter(folder: folder.path) })
            else { Issue.record("expected invalidLoRAModule"); return }
            #expect(module == "m.proj" && detail.contains("disagree on r"))
        }
    }

    @Test func rankDisagreeingWithTheConfigNamesTheModule() throws {
        try withTemporaryFolder { folder in
            try Self.writeAdapter(in: folder, config: Self.config(#","rank_pattern":{"proj":8}"#), tensors: [
                "base_model.model.m.proj.lora_A.weight": Self.a, "base_model.model.m.proj.lora_B.weight": Self.b,
            ])
            guard case .invalidLoRAModule(_, "m.proj", let detail) = checkpointError({ _ = try PEFTAdapter(folder: folder.path) })
            else { Issue.record("expected invalidLoRAModule for m.proj"); return }
            #expect(detail.contains("r = 8"))
        }
    }

    @Test func missingLoRABNamesTheModule() throws {
        try withTemporaryFolder { folder in
            try Self.writeAdapter(in: folder, config: Self.config(), tensors: ["base_model.model.m.proj.lora_A.weight": Self.a])
            let error = checkpointError { _ = try PEFTAdapter(folder: folder.path) }
            #expect(error == .invalidLoRAModule(
                path: folder.appendingPathComponent(PEFTAdapter.weightsFileName).path, module: "m.proj", detail: "lora_B is missing"))
        }
    }

    static let badConfigs: [(config: String, key: String)] = [
        (#"{"peft_type":"LORA","lora_alpha":4}"#, "r"),
        (#"{"peft_type":"LORA","r":2}"#, "lora_alpha"),
        (#"{"r":2,"lora_alpha":4}"#, "peft_type"),
        (#"{"peft_type":"IA3","r":2,"lora_alpha":4}"#, "peft_type"),
        (#"{"peft_type":"LORA","r":0,"lora_alpha":4}"#, "r"),
        (#"{"peft_type":"LORA","r":2,"lora_alpha":"4"}"#, "lora_alpha"),
        (#"{"peft_type":"LORA","r":2,"lora_alpha":4,"use_rslora":"yes"}"#, "use_rslora"),
        (#"{"peft_type":"LORA","r":2,"lora_alpha":4,"rank_pattern":{"q":1.5}}"#, "rank_pattern.q"),
    ]

    @Test(arguments: badConfigs)
    func badConfigNamesTheKey(config: String, key: String) throws {
        try withTemporaryFolder { folder in
            try Self.writeAdapter(in: folder, config: config, tensors: [:])
            guard case .invalidAdapterConfig(_, let k, _) = checkpointError({ _ = try PEFTAdapter(folder: folder.path) })
            else { Issue.record("expected invalidAdapterConfig"); return }
            #expect(k == key)
        }
    }

    @Test func pickledAdapterIsRefused() throws {
        try withTemporaryFolder { folder in
            try Data(Self.config().utf8).write(to: folder.appendingPathComponent(PEFTAdapter.configFileName))
            let bin = folder.appendingPathComponent(PEFTAdapter.pickleFileName)
            try Data([0x80, 0x02]).write(to: bin)
            let error = checkpointError { _ = try PEFTAdapter(folder: folder.path) }
            #expect(error == .pickleRefused(path: bin.path))
            #expect(error?.description.contains(
                "adapter_model.bin is a Python pickle; the workbench does not execute pickles — convert it with "
                    + "safetensors' convert script or save with safe_serialization=True") == true)
        }
    }
}

extension Tensor {
    /// Every element doubled (the test adapters' s = lora_alpha / r = 4 / 2).
    fileprivate func scaledByTwo() -> Tensor { Tensor(shape: shape, storage: storage.map { 2 * $0 }) }
}
