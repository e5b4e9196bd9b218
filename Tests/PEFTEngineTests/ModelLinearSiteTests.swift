import Testing
@testable import PEFTEngine

@Suite("linear sites")
struct ModelLinearSiteTests {
    @Test("site indices number every site of a model densely, in `all` order")
    func denseIndex() {
        let sites = LinearSite.all(layers: 3)
        #expect(sites.map(\.index) == Array(0..<18))
        #expect(LinearSite(layer: 2, kind: .fc).index == 2 * 6 + 4)
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
