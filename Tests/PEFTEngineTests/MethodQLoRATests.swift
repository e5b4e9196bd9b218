import Foundation
import Testing
@testable import PEFTEngine

@Suite("QLoRA")
struct MethodQLoRATests {
    static func attach(_ c: QLoRA.Configuration, to model: TransformerModel) throws -> QLoRA {
        let qlora = QLoRA(c)
        var rng = SeededRNG(seed: 42)
        try qlora.attach(to: model, rng: &rng)
        return qlora
    }

    @Test("the base becomes the dequantized NF4 matrices, and a fresh QLoRA computes exactly that model", arguments: [true, false])
    func baseIsDequantized(doubleQuant: Bool) throws {
        let original = TinyModel.make()
        let model = TinyModel.make()
        let qlora = try Self.attach(.init(.init(r: 2, loraAlpha: 4), useDoubleQuant: doubleQuant), to: model)
        // Reference: the same base with every linear weight replaced by deq(Q(W0)), no hook.
        let reference = TinyModel.make()
        for site in LinearSite.all(layers: 2) {
            let w0 = original.parameters.tensor(named: site.weightName)
            let wq = QuantizedTensor(quantizing: w0, format: .nf4, blocksize: 64, doubleQuant: doubleQuant).dequantize()
            #expect(model.parameters.tensor(named: site.weightName) == wq, "\(site): Float32 copy holds W0_q")
            #expect(qlora.quantizedWeight(for: site)?.isDoubleQuantized == doubleQuant)
            let error = try #require(qlora.quantizationError(for: site))
            #expect(abs(error - (w0 - wq).frobeniusNorm()) <= LoRATolerance.handComputed && error > 0)
            try reference.parameters.load(named: site.weightName, from: wq)
            let w = try #require(qlora.effectiveWeight(for: site))
            #expect((0..<wq.count).allSatisfy { w[$0] == wq.storage[$0] }, "\(site): forward reads the decoded codes")
        }
        #expect(model.parameters.tensor(named: "blocks.0.ln1.weight") == original.parameters.tensor(named: "blocks.0.ln1.weight"))
        #expect(model.parameters.tensor(named: "lm_head.weight") == original.parameters.tensor(named: "lm_head.weight"))
        let (tokens, _, _) = TinyModel.batch()
        qlora.isTraining = false
        model.forward(tokens: tokens, B: TinyModel.B, T: TinyModel.T)
        reference.forward(tokens: tokens, B: TinyModel.B, T: TinyModel.T)
        let worst = zip(model.logits().storage, reference.logits().storage).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-6, "fresh QLoRA vs dequantized base: \(worst)")
    }

    @Test("frozen bytes count packed codes and constants; bits per parameter 4.5, or ≈ 4.127 with double quant")
    func memory() throws {
        // The reference width (C = 128, F = 512) so every matrix is a multiple of 64·256 values.
        let config = try ModelConfig(vocabSize: 96, dModel: 128, layers: 1, heads: 4, dFF: 512, contextLength: 8)
        let model = TransformerModel(config: config, maxB: 1, maxT: 8)
        var rng = SeededRNG(seed: 9)
        for v in model.parameters.views { for i in 0..<v.count { model.parameters.values.pointer[v.offset + i] = rng.normal(std: 0.02) } }
        let plain = try Self.attach(.init(.init(r: 8), useDoubleQuant: false), to: model)
        #expect(plain.bitsPerParameter == 4.5)
        model.linearHook = nil
        let dq = try Self.attach(.init(.init(r: 8)), to: model)
        // Per matrix of n values: 4 + 8/64 + 32/(64·256) bits, plus one 4-byte mean per matrix.
        let n = 4 * 128 * 128 + 2 * 128 * 512
        let expectedBits = 4 + 8.0 / 64 + 32.0 / (64 * 256) + 6 * 32.0 / Double(n)
        #expect(abs(dq.bitsPerParameter - expectedBits) < 1e-9, "\(dq.bitsPerParameter)")
        #expect(abs(dq.bitsPerParameter - 4.127) < 1e-3)
        let packed = n / 2 + n / 64 + 4 * (n / 64 / 256) + 6 * 4
        let otherFloats = model.parameters.count - n
        #expect(dq.frozenBytes(model: model) == packed + 4 * otherFloats)
        #expect(plain.frozenBytes(model: model) == n / 2 + 4 * (n / 64) + 4 * otherFloats)
    }

    @Test("ΔW is s·B·A on top of W0_q; merge writes W0_q + ΔW and unmerge restores W0_q")
    func deltaAndMerge() throws {
        let model = TinyModel.make()
        let qlora = try Self.attach(.init(.init(r: 2, loraAlpha: 4, targetModules: ["v"])), to: model)
        let site = LinearSite(layer: 1, kind: .v)
        try qlora.parameters.load(named: "blocks.1.attn.v.lora_B", from: Tensor(shape: [8, 2], repeating: 0.5))
        let a = qlora.parameters.tensor(named: "blocks.1.attn.v.lora_A")
        let expected = Tensor.matmul(Tensor(shape: [8, 2], repeating: 0.5), a).scaled(by: 2)
        let delta = try #require(qlora.delta(for: site, model: model))
        #expect(zip(delta.storage, expected.storage).allSatisfy { abs($0 - $1) <= LoRATolerance.reference })
        let wq = model.parameters.tensor(named: site.weightName)
        try qlora.merge(into: model)
        #expect(qlora.effectiveWeight(for: site) == nil, "merged: the Float32 arena is used")
        #expect(zip(model.parameters.tensor(named: site.weightName).storage, (wq + delta).storage).allSatisfy { abs($0 - $1) <= LoRATolerance.handComputed })
        try qlora.unmerge(from: model)
        #expect(zip(model.parameters.tensor(named: site.weightName).storage, wq.storage).allSatisfy { abs($0 - $1) <= 1e-6 })
    }

    @Test("configuration: bnb keys with defaults nf4 and double quant; unknown quant type names its key")
    func configuration() throws {
        let c = try JSONDecoder().decode(QLoRA.Configuration.self, from: Data(#"{"r": 4}"#.utf8))
        #expect(c.hyperparameters.r == 4 && c.quantType == "nf4" && c.useDoubleQuant)
        let fp4 = try JSONDecoder().decode(QLoRA.Configuration.self, from: Data(#"{"bnb_4bit_quant_type": "fp4", "bnb_4bit_use_double_quant": false}"#.utf8))
        #expect(fp4.format == .fp4 && !fp4.useDoubleQuant)
        #expect(try JSONDecoder().decode(QLoRA.Configuration.self, from: JSONEncoder().encode(fp4)) == fp4)
        #expect(throws: PEFTMethodError.invalidConfiguration(method: "qlora", key: "bnb_4bit_quant_type", reason: "must be \"nf4\" or \"fp4\", got \"int8\"")) {
            try QLoRA.Configuration(quantType: "int8").validate(for: TinyModel.config)
        }
        #expect(QLoRA.Configuration.fieldNames.contains("bnb_4bit_use_double_quant"))
        #expect(QLoRA(fp4).label == "qlora r=8 alpha=8 fp4")
    }
}
