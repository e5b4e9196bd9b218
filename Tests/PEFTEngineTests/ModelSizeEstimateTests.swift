import Testing
@testable import PEFTEngine

/// The closed-form sizes a study is checked with before anything is built equal what building
/// the model allocates.
@Suite struct ModelSizeEstimateTests {
    static let configs: [ModelConfig] = [
        try! ModelConfig(vocabSize: 96, dModel: 64, layers: 2, heads: 4, dFF: 256, contextLength: 32),
        try! ModelConfig(vocabSize: 50, dModel: 16, layers: 3, heads: 2, dFF: 40, contextLength: 9),
        ModelConfig.smolLM2(contextLength: 16),
        try! ModelConfig(architecture: .llama, vocabSize: 11, dModel: 8, layers: 2, heads: 4, kvHeads: 2, dFF: 12, contextLength: 9,
                         ropeTheta: 500, rmsNormEpsilon: 1e-5, tiedEmbeddings: false),
    ]

    @Test("parameter count in closed form = the arena's, for GPT-2 and LLaMA, tied and untied; SmolLM2-135M is 134,515,008")
    func parameterCount() {
        for config in Self.configs {
            #expect(ParameterStore.estimatedCount(config) == Double(ParameterStore(config: config).count), "\(config)")
        }
        #expect(ParameterStore.estimatedCount(.smolLM2()) == 134_515_008)
    }

    @Test("activation bytes in closed form = the allocated buffers', with and without prefix rows")
    func activationBytes() {
        for config in Self.configs {
            for (B, T, P) in [(1, 1, 0), (3, min(7, config.contextLength), 0), (2, min(5, config.contextLength), 4)] {
                let built = Activations(config: config, maxB: B, maxT: T, maxP: P).bytes
                #expect(Activations.estimatedBytes(config: config, maxB: B, maxT: T, maxP: P) == Double(built), "\(config) B\(B) T\(T) P\(P)")
            }
        }
    }

    @Test("sizes no Int could hold are finite Doubles, never a trap")
    func hugeSizes() throws {
        let huge = try ModelConfig(vocabSize: 1 << 40, dModel: 1 << 30, layers: 100_000_000, heads: 1 << 10, dFF: 1 << 62, contextLength: 1 << 40)
        #expect(ParameterStore.estimatedCount(huge).isFinite && ParameterStore.estimatedCount(huge) > 1e30)
        #expect(Activations.estimatedBytes(config: huge, maxB: 1 << 40, maxT: 1 << 40).isFinite)
    }
}
