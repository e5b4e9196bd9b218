import Testing
@testable import PEFTEngine

/// `QuantizationError`: MSE, relative Frobenius error and per-block maxima.
@Suite("Quantization error")
struct QuantErrorTests {
    @Test("measures agree with a direct computation", arguments: QuantFormat.allCases)
    func matchesDirect(format: QuantFormat) {
        let t = QuantTestRNG.normalTensor([17, 23], seed: 47, sigma: 0.02)
        let e = QuantizationError(of: t, format: format, blocksize: 32)
        let back = QuantizedTensor(quantizing: t, format: format, blocksize: 32).dequantize().storage
        var sumSq = 0.0, normSq = 0.0
        var blockMax = [Float](repeating: 0, count: (t.count + 31) / 32)
        for i in 0..<t.count {
            let d = t.storage[i] - back[i]
            sumSq += Double(d) * Double(d)
            normSq += Double(t.storage[i]) * Double(t.storage[i])
            blockMax[i / 32] = max(blockMax[i / 32], abs(d))
        }
        #expect(abs(e.mse - sumSq / Double(t.count)) <= 1e-12 * max(1, e.mse))
        #expect(abs(e.relativeFrobenius - (sumSq / normSq).squareRoot()) < 1e-12)
        #expect(e.blockMaxAbsError == blockMax)
        #expect(e.relativeFrobenius > 0 && e.relativeFrobenius < 0.5)
    }

    @Test("a tensor of levels·absmax has zero error; a zero tensor has zero error")
    func exactCases() {
        let zero = QuantizationError(of: Tensor(shape: [5, 7]), format: .nf4)
        #expect(zero.mse == 0 && zero.relativeFrobenius == 0 && zero.blockMaxAbsError == [0])
        let values = (0..<64).map { QuantFormat.nf4Levels[$0 % 16] * 0.5 }
        let exact = QuantizationError(of: Tensor(shape: [64], storage: values), format: .nf4)
        #expect(exact.mse == 0 && exact.relativeFrobenius == 0)
    }

    @Test("relative error on N(0, 1) at blocksize 64: NF4 < E2M1 < int4 < bitsandbytes' FP4")
    func formatsRanked() {
        let t = QuantTestRNG.normalTensor([128, 128], seed: 53)
        func err(_ f: QuantFormat) -> Double { QuantizationError(of: t, format: f, blocksize: 64).relativeFrobenius }
        #expect(err(.nf4) < err(.e2m1) && err(.e2m1) < err(.int4) && err(.int4) < err(.fp4),
                "nf4 \(err(.nf4)), e2m1 \(err(.e2m1)), int4 \(err(.int4)), fp4 \(err(.fp4))")
    }
}
