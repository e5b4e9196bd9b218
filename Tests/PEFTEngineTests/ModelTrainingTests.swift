import Testing
@testable import PEFTEngine

/// End-to-end training behaviour of `Trainer`.
@Suite struct ModelTrainingTests {
    /// Reverse four digits: `a b c d SEP` → `d c b a`. Input row `a b c d SEP d c b`,
    /// targets `b c d SEP d c b a`, mask on the four answer positions only.
    enum ReverseTask {
        static let digits = 10, separator: Int32 = 10, T = 8
        static let config = try! ModelConfig(vocabSize: 11, dModel: 32, layers: 2, heads: 4, dFF: 64, contextLength: T)

        static func batch(_ r: inout TestRandom, B: Int) -> (tokens: [Int32], targets: [Int32], mask: [Float]) {
            var tokens: [Int32] = [], targets: [Int32] = [], mask: [Float] = []
            for _ in 0..<B {
                let x = (0..<4).map { _ in Int32(r.int(digits)) }
                let row = x + [separator] + x.reversed()
                tokens += row[0..<T]
                targets += row[1...T]
                mask += [0, 0, 0, 0, 1, 1, 1, 1]
            }
            return (tokens, targets, mask)
        }
    }

    static func makeTrainer(seed: UInt64, B: Int) -> Trainer {
        let model = TransformerModel(config: ReverseTask.config, maxB: B, maxT: ReverseTask.T)
        model.parameters.initialize(seed: seed)
        let settings = Trainer.Settings(
            learningRate: 1e-2, schedule: .cosine(warmup: 20, total: 300, minLR: 1e-3), maxGradNorm: 1,
            adam: .init(weightDecay: 0.01))
        return Trainer(model: model, settings: settings)
    }

    /// Bound on the masked loss after `steps` steps (chance level is ln 10 ≈ 2.3).
    static let steps = 300, lossBound: Float = 0.1

    @Test func learnsToReverseFourDigits() {
        let B = 32
        let trainer = Self.makeTrainer(seed: 1, B: B)
        var data = TestRandom(seed: 100)
        var first: Float = 0
        for s in 0..<Self.steps {
            let (tokens, targets, mask) = ReverseTask.batch(&data, B: B)
            let loss = trainer.step(tokens: tokens, targets: targets, mask: mask, B: B, T: ReverseTask.T)
            if s == 0 { first = loss }
        }
        var held = TestRandom(seed: 999)
        let (tokens, targets, mask) = ReverseTask.batch(&held, B: B)
        let eval = trainer.evaluate(tokens: tokens, targets: targets, mask: mask, B: B, T: ReverseTask.T)
        #expect(first > 2)
        #expect(eval.loss < Self.lossBound, "held-out loss \(eval.loss) after \(Self.steps) steps")
        #expect(eval.counted == 4 * B)
        #expect(eval.accuracy > 0.95, "held-out accuracy \(eval.accuracy)")
    }

    @Test func sameSeedGivesBitIdenticalParameters() {
        let B = 4
        func run() -> ([Float], [Float]) {
            let trainer = Self.makeTrainer(seed: 5, B: B)
            var data = TestRandom(seed: 6)
            var losses: [Float] = []
            for _ in 0..<5 {
                let (tokens, targets, mask) = ReverseTask.batch(&data, B: B)
                losses.append(trainer.step(tokens: tokens, targets: targets, mask: mask, B: B, T: ReverseTask.T))
            }
            return (trainer.model.parameters.values.copy(0..<trainer.model.parameters.count), losses)
        }
        let (a, lossesA) = run(), (b, lossesB) = run()
        #expect(a == b)
        #expect(lossesA == lossesB)
    }

    @Test func frozenParametersStayBitIdenticalThroughSteps() {
        let B = 4
        let trainer = Self.makeTrainer(seed: 2, B: B)
        let store = trainer.model.parameters
        store.setRequiresGradForAll(false)
        for name in ["blocks.1.attn.v.weight", "blocks.0.mlp.fc.bias", "ln_f.weight"] { store.setRequiresGrad(true, named: name) }
        let before = store.values.copy(0..<store.count)
        var data = TestRandom(seed: 3)
        for _ in 0..<3 {
            let (tokens, targets, mask) = ReverseTask.batch(&data, B: B)
            trainer.step(tokens: tokens, targets: targets, mask: mask, B: B, T: ReverseTask.T)
        }
        let after = store.values.copy(0..<store.count)
        for (i, v) in store.views.enumerated() {
            let changed = Array(before[v.range]) != Array(after[v.range])
            #expect(changed == store.requiresGrad[i], "\(v.name): changed = \(changed)")
        }
    }
}
