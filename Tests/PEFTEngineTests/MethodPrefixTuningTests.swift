import Foundation
import Testing
@testable import PEFTEngine

/// Prefix tuning: peft's reshape of the flat prefix, the projection MLP, the gradient
/// gather, initialisation, validation and decoding.
@Suite("Prefix tuning")
struct MethodPrefixTuningTests {
    /// L = 2, NH = 2, HS = 4: the flat prefix has 2·L·C = 32 columns.
    static let config = TinyModel.config
    /// Float32 MLP against a Double reference.
    static let mlpTolerance: Float = 1e-5

    static func attached(_ configuration: PrefixTuning.Configuration, maxP: Int = 8) throws -> (TransformerModel, PrefixTuning) {
        let model = TinyModel.make(maxP: maxP)
        let method = PrefixTuning(configuration)
        var rng = SeededRNG(seed: 5)
        try method.attach(to: model, rng: &rng)
        return (model, method)
    }

    /// Column of peft's [P, 2·L·C] prefix holding keys (kv = 0) or values (kv = 1) [l, h, ·, i].
    static func column(l: Int, kv: Int, h: Int, i: Int) -> Int {
        ((2 * l + kv) * config.heads + h) * config.headSize + i
    }

    @Test func withoutProjectionTheEmbeddingIsThePrefixInPeftsLayout() throws {
        let P = 3
        let (model, method) = try Self.attached(.init(numVirtualTokens: P))
        let width = 2 * Self.config.layers * Self.config.dModel
        let e = method.parameters.value(0)
        for p in 0..<P { for j in 0..<width { e[p * width + j] = Float(1000 * p + j) } }
        method.prepareForward(model: model)
        let prefix = try #require(model.prefix)
        #expect(prefix === method.prefix)
        let HS = Self.config.headSize
        for l in 0..<Self.config.layers {
            for h in 0..<Self.config.heads {
                for p in 0..<P {
                    for i in 0..<HS {
                        let at = ((l * Self.config.heads + h) * P + p) * HS + i
                        #expect(prefix.keys.pointer[at] == Float(1000 * p + Self.column(l: l, kv: 0, h: h, i: i)))
                        #expect(prefix.values.pointer[at] == Float(1000 * p + Self.column(l: l, kv: 1, h: h, i: i)))
                    }
                }
            }
        }
    }

    @Test func prefixGradientsGatherBackIntoPeftsLayout() throws {
        let P = 2
        let (model, method) = try Self.attached(.init(numVirtualTokens: P))
        let prefix = try #require(model.prefix)
        for n in 0..<prefix.keyGradients.count {
            prefix.keyGradients.pointer[n] = Float(n)
            prefix.valueGradients.pointer[n] = Float(-n)
        }
        method.parameters.zeroGradients()
        method.finishBackward(model: model)
        let g = method.parameters.gradientTensor(named: "prefix_encoder.embedding.weight")
        let width = 2 * Self.config.layers * Self.config.dModel, HS = Self.config.headSize
        // keys[l=1, h=0, p=1, i=2] and values[l=0, h=1, p=0, i=3]
        let k = ((1 * Self.config.heads + 0) * P + 1) * HS + 2
        let v = ((0 * Self.config.heads + 1) * P + 0) * HS + 3
        #expect(g.storage[1 * width + Self.column(l: 1, kv: 0, h: 0, i: 2)] == Float(k))
        #expect(g.storage[0 * width + Self.column(l: 0, kv: 1, h: 1, i: 3)] == Float(-v))
    }

    @Test func projectionComputesTanhMLPAndReshapesLikePeft() throws {
        let P = 2, h = 5
        let (model, method) = try Self.attached(.init(numVirtualTokens: P, prefixProjection: true, encoderHiddenSize: h))
        let C = Self.config.dModel, width = 2 * Self.config.layers * C
        #expect(method.parameters.names == ["prefix_encoder.embedding.weight", "prefix_encoder.transform.0.weight",
                                           "prefix_encoder.transform.0.bias", "prefix_encoder.transform.2.weight",
                                           "prefix_encoder.transform.2.bias"])
        let e = method.parameters.tensor(named: "prefix_encoder.embedding.weight").storage
        let w1 = method.parameters.tensor(named: "prefix_encoder.transform.0.weight").storage
        let b1 = method.parameters.tensor(named: "prefix_encoder.transform.0.bias").storage
        let w2 = method.parameters.tensor(named: "prefix_encoder.transform.2.weight").storage
        let b2 = method.parameters.tensor(named: "prefix_encoder.transform.2.bias").storage
        method.prepareForward(model: model)
        let prefix = try #require(model.prefix)
        let HS = Self.config.headSize, NH = Self.config.heads
        var worst: Float = 0
        for p in 0..<P {
            let hidden = (0..<h).map { j in
                tanh((0..<C).reduce(Double(b1[j])) { $0 + Double(e[p * C + $1]) * Double(w1[j * C + $1]) })
            }
            for l in 0..<Self.config.layers {
                for kv in 0..<2 {
                    for head in 0..<NH {
                        for i in 0..<HS {
                            let col = Self.column(l: l, kv: kv, h: head, i: i)
                            let y = (0..<h).reduce(Double(b2[col])) { $0 + hidden[$1] * Double(w2[col * h + $1]) }
                            let arena = kv == 0 ? prefix.keys : prefix.values
                            worst = max(worst, abs(arena.pointer[((l * NH + head) * P + p) * HS + i] - Float(y)))
                        }
                    }
                }
            }
        }
        #expect(worst <= Self.mlpTolerance, "prefix differs from tanh MLP by \(worst)")
        #expect(width == 32)
    }

    @Test func initialisationFollowsPyTorchDefaults() throws {
        let P = 16, h = 12
        let (_, plain) = try Self.attached(.init(numVirtualTokens: P), maxP: P)
        let e = plain.parameters.tensor(named: "prefix_encoder.embedding.weight").storage
        let mean = e.reduce(0, +) / Float(e.count)
        let std = (e.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(e.count)).squareRoot()
        #expect(e.count == 512 && abs(mean) < 0.15 && abs(std - 1) < 0.1, "N(0,1) embedding: mean \(mean), std \(std)")
        let (_, projected) = try Self.attached(.init(numVirtualTokens: P, prefixProjection: true, encoderHiddenSize: h), maxP: P)
        let bound1 = 1 / Float(Self.config.dModel).squareRoot(), bound2 = 1 / Float(h).squareRoot()
        for (name, bound) in [("prefix_encoder.transform.0.weight", bound1), ("prefix_encoder.transform.0.bias", bound1),
                              ("prefix_encoder.transform.2.weight", bound2), ("prefix_encoder.transform.2.bias", bound2)] {
            let values = projected.parameters.tensor(named: name).storage
            #expect(values.allSatisfy { abs($0) <= bound } && values.contains { $0 != 0 }, "\(name) outside ±\(bound)")
        }
    }

    @Test func attachFreezesTheBaseAndDetachRemovesThePrefix() throws {
        let (model, method) = try Self.attached(.init(numVirtualTokens: 2))
        #expect(model.parameters.trainableCount == 0)
        // Nothing below the first block's q/k/v trains: backward may stop there.
        #expect(!model.needsInputGradient)
        #expect(method.delta(for: LinearSite(layer: 0, kind: .q), model: model) == nil)
        #expect(!method.canMerge)
        method.detach(from: model)
        #expect(model.prefix == nil)
        #expect(model.parameters.trainableCount == model.parameters.count)
        #expect(model.needsInputGradient)
        model.parameters.setRequiresGradForAll(false)
        model.parameters.setRequiresGrad(true, named: "blocks.0.attn.v.bias")
        #expect(!model.needsInputGradient, "block 0's v bias needs only dv, not the input gradient")
        model.parameters.setRequiresGrad(true, named: "blocks.0.ln1.bias")
        #expect(model.needsInputGradient, "block 0's ln1 shift trains")
    }

    @Test func parameterCountsFollowThePaperAndPeft() {
        let reference = ModelConfig.reference  // L = 4, C = 128
        #expect(PrefixTuning(.init()).expectedTrainableParameterCount(config: reference) == 2 * 4 * 128 * 16)
        let projected = PrefixTuning(.init(numVirtualTokens: 10, prefixProjection: true))
        #expect(projected.expectedTrainableParameterCount(config: reference)
                == 10 * 128 + (128 * 128 + 128) + (128 * 1024 + 1024))
    }

    @Test func validationErrorsNameTheKey() throws {
        func key(_ body: () throws -> Void) -> String? {
            do { try body() } catch PEFTMethodError.invalidConfiguration(_, let key, _) { return key } catch { return "other: \(error)" }
            return nil
        }
        #expect(key { try PrefixTuning.Configuration(numVirtualTokens: 0).validate(for: Self.config) } == "num_virtual_tokens")
        #expect(key { try PrefixTuning.Configuration(prefixProjection: true, encoderHiddenSize: 0).validate(for: Self.config) } == "encoder_hidden_size")
        let model = TinyModel.make(maxP: 2)
        var rng = SeededRNG(seed: 1)
        #expect(key { try PrefixTuning(.init(numVirtualTokens: 3)).attach(to: model, rng: &rng) } == "num_virtual_tokens")
        #expect(model.prefix == nil && model.parameters.trainableCount == model.parameters.count, "a failed attach touched the model")
    }

    @Test func decodesPeftFieldNamesWithPeftDefaults() throws {
        let decoder = JSONDecoder()
        let full = try decoder.decode(PrefixTuning.Configuration.self, from: Data(
            #"{"num_virtual_tokens": 4, "prefix_projection": true, "encoder_hidden_size": 32}"#.utf8))
        #expect(full == .init(numVirtualTokens: 4, prefixProjection: true, encoderHiddenSize: 32))
        let empty = try decoder.decode(PrefixTuning.Configuration.self, from: Data("{}".utf8))
        #expect(empty == .init(numVirtualTokens: 16, prefixProjection: false, encoderHiddenSize: nil))
        #expect(empty.hiddenSize(Self.config) == Self.config.dModel)
        #expect(PrefixTuning.Configuration.fieldNames == ["num_virtual_tokens", "prefix_projection", "encoder_hidden_size"])
    }
}
