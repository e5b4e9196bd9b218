import Testing
@testable import PEFTEngine

@Suite("linear sites")
struct ModelLinearSiteTests {
    @Test("site indices are distinct, increase in `all` order and fit a table of 9 kinds per layer")
    func tableIndex() throws {
        for config in [try ModelConfig(vocabSize: 11, dModel: 8, layers: 3, heads: 2, dFF: 16, contextLength: 6),
                       try ModelConfig(architecture: .llama, vocabSize: 11, dModel: 8, layers: 3, heads: 2, kvHeads: 1,
                                       dFF: 16, contextLength: 6)] {
            let indices = LinearSite.all(config).map(\.index)
            #expect(indices == indices.sorted() && Set(indices).count == indices.count)
            #expect(indices.allSatisfy { $0 < LinearSite.tableSize(layers: 3) })
        }
        #expect(LinearSite(layer: 2, kind: .fc).index == 2 * 9 + 4)
        #expect(LinearSite.all(layers: 2) == LinearSite.all(try ModelConfig(vocabSize: 11, dModel: 8, layers: 2, heads: 2, dFF: 16, contextLength: 6)))
    }

    @Test("a LLaMA block has q, k, v, o, gate, up, down; k and v are KV·HS wide; peft's names resolve")
    func llamaSites() throws {
        let config = try ModelConfig(architecture: .llama, vocabSize: 11, dModel: 8, layers: 1, heads: 4, kvHeads: 2,
                                     dFF: 12, contextLength: 6)
        #expect(LinearSite.all(config).map(\.kind) == [.q, .k, .v, .o, .gate, .up, .down])
        #expect(LinearSite(layer: 0, kind: .k).features(config) == (input: 8, output: 4))
        #expect(LinearSite(layer: 0, kind: .down).features(config) == (input: 12, output: 8))
        #expect(LinearSite(layer: 0, kind: .gate).weightName == "blocks.0.mlp.gate.weight")
        #expect(try LinearSite.Kind.resolve(["v_proj", "q"], architecture: .llama) == [.q, .v])
        #expect(try LinearSite.Kind.resolve(["all-linear"], architecture: .llama) == LinearSite.Kind.kinds(of: .llama))
        #expect(throws: ModuleNameError.self) { try LinearSite.Kind.resolve(["fc"], architecture: .llama) }
        #expect(throws: ModuleNameError.self) { try LinearSite.Kind.resolve(["gate_proj"], architecture: .gpt2) }
        #expect(LinearSite.Kind.namesEveryKind(["q", "k", "v", "o", "fc", "proj"]))
        #expect(!LinearSite.Kind.namesEveryKind(["q_proj", "v_proj"]))
    }

    @Test("names and features follow the parameter layout")
    func namesAndFeatures() throws {
        let config = try ModelConfig(vocabSize: 11, dModel: 8, layers: 2, heads: 2, dFF: 16, contextLength: 6)
        #expect(LinearSite(layer: 1, kind: .proj).weightName == "blocks.1.mlp.proj.weight")
        #expect(LinearSite(layer: 0, kind: .k).biasName == "blocks.0.attn.k.bias")
        #expect(LinearSite(layer: 0, kind: .fc).features(config) == (input: 8, output: 16))
        #expect(LinearSite(layer: 0, kind: .proj).features(config) == (input: 16, output: 8))
    }
}
