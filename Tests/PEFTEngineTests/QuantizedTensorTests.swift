import Foundation
import Testing
@testable import PEFTEngine

/// Blockwise 4-bit quantization: packing, blocks, exactness and error bounds.
@Suite("Quantized tensor")
struct QuantizedTensorTests {
    /// Relative slack on the per-element bound for Float32 rounding of x/absmax and level·absmax.
    static let roundingSlack: Float = 1e-5

    @Test("packing: first element in the high nibble")
    func packingOrder() {
        let q = QuantizedTensor(quantizing: Tensor(shape: [2], storage: [1, -1]), format: .nf4, blocksize: 32)
        #expect(q.codes == [0xF0])  // code 15 (level 1) high, code 0 (level −1) low
        let r = QuantizedTensor(quantizing: Tensor(shape: [2], storage: [-1, 0]), format: .nf4, blocksize: 32)
        #expect(r.codes == [0x07])  // code 0 high, code 7 (exact 0) low
        let odd = QuantizedTensor(quantizing: Tensor(shape: [3], storage: [1, -1, 1]), format: .nf4, blocksize: 32)
        #expect(odd.codes == [0xF0, 0xF7])  // the unused last low nibble holds the code of 0, as bitsandbytes pads
    }

    @Test("each emitted level round-trips exactly as level·absmax", arguments: QuantFormat.allCases)
    func levelsRoundTrip(format: QuantFormat) {
        let absmax: Float = 2.75
        let emitted = format.quantizationOrder
        // One block of 64: every emitted level·absmax, then ±absmax padding (itself a level).
        var values = emitted.map { format.levels[Int($0)] * absmax }
        while values.count < 64 { values.append(values.count % 2 == 0 ? absmax : -absmax) }
        let q = QuantizedTensor(quantizing: Tensor(shape: [64], storage: values), format: format, blocksize: 64)
        #expect(q.blockAbsmax == [absmax])
        let back = q.dequantize().storage
        for (i, code) in emitted.enumerated() {
            // FP4 has two codes for 0; an exact 0 takes the first in the quantization order.
            let expected = emitted.first { format.levels[Int($0)] == format.levels[Int(code)] }!
            #expect(quantNibble(q.codes, i) == expected, "\(format): element \(i)")
            #expect(back[i] == values[i], "\(format): level \(format.levels[Int(code)]) came back as \(back[i] / absmax)")
        }
        #expect(back == values)
    }

    @Test("exact zeros stay exactly zero", arguments: QuantFormat.allCases, [false, true])
    func zeroPreserved(format: QuantFormat, doubleQuant: Bool) {
        var t = QuantTestRNG.normalTensor([1000], seed: 7)
        for i in stride(from: 0, to: 1000, by: 3) { t.storage[i] = 0 }
        let back = QuantizedTensor(quantizing: t, format: format, blocksize: 64, doubleQuant: doubleQuant).dequantize()
        for i in stride(from: 0, to: 1000, by: 3) {
            #expect(back.storage[i] == 0, "\(format) dq=\(doubleQuant): element \(i) became \(back.storage[i])")
        }
    }

    @Test("tail block shorter than blocksize", arguments: QuantFormat.allCases)
    func tailBlock(format: QuantFormat) {
        let t = QuantTestRNG.normalTensor([64 + 5], seed: 11)
        let q = QuantizedTensor(quantizing: t, format: format, blocksize: 64)
        #expect(q.blockCount == 2)
        #expect(q.codes.count == 35)
        #expect(q.codes[34] & 0x0F == Codebook.of(format).paddingCode)
        let tailMax = t.storage[64...].map(abs).max()!
        #expect(q.blockAbsmax[1] == tailMax)
        let back = q.dequantize().storage
        let bound = Codebook.of(format).maxHalfGap * tailMax * (1 + Self.roundingSlack)
        for i in 64..<69 {
            #expect(abs(back[i] - t.storage[i]) <= bound, "\(format): tail element \(i)")
        }
    }

    @Test("all-zero block: absmax 0, dequantizes to 0, no NaN", arguments: QuantFormat.allCases, [false, true])
    func allZeroBlock(format: QuantFormat, doubleQuant: Bool) {
        var values = [Float](repeating: 0, count: 64)
        values += QuantTestRNG.normalTensor([64], seed: 3).storage
        let q = QuantizedTensor(quantizing: Tensor(shape: [2, 64], storage: values), format: format,
                                blocksize: 64, doubleQuant: doubleQuant)
        if !doubleQuant { #expect(q.blockAbsmax[0] == 0) }
        let back = q.dequantize().storage
        #expect(back.allSatisfy { !$0.isNaN })
        #expect(back[0..<64].allSatisfy { $0 == 0 })
    }

    @Test("|x − x̂| ≤ (largest gap / 2)·absmax per element",
          arguments: QuantFormat.allCases, [32, 64, 256])
    func errorBound(format: QuantFormat, blocksize: Int) {
        let t = QuantTestRNG.normalTensor([37, 29], seed: 5)  // 1073: odd, not a multiple of any blocksize
        let q = QuantizedTensor(quantizing: t, format: format, blocksize: blocksize)
        let back = q.dequantize()
        #expect(back.shape == t.shape)
        let halfGap = Codebook.of(format).maxHalfGap
        for (i, (x, y)) in zip(t.storage, back.storage).enumerated() {
            let a = q.blockAbsmax[i / blocksize]
            #expect(abs(x - y) <= halfGap * a * (1 + Self.roundingSlack), "\(format) B=\(blocksize): element \(i), x=\(x), x̂=\(y)")
        }
    }

    @Test("fast path picks the nearest emitted level (plain-loop reference)", arguments: QuantFormat.allCases)
    func nearestLevelReference(format: QuantFormat) {
        let t = QuantTestRNG.normalTensor([3001], seed: 13)
        let q = QuantizedTensor(quantizing: t, format: format, blocksize: 64)
        let emitted = format.emittedCodes
        for i in 0..<t.count {
            let a = q.blockAbsmax[i / 64]
            let x = Double(t.storage[i]) / Double(a)
            let best = emitted.map { abs(x - Double(format.levels[Int($0)])) }.min()!
            let code = quantNibble(q.codes, i)
            #expect(emitted.contains(code))
            let chosen = abs(x - Double(format.levels[Int(code)]))
            #expect(chosen <= best + 1e-6, "\(format): element \(i) x/absmax=\(x) got code \(code)")
        }
    }

    @Test("threaded quantize equals the one-thread kernel, bit for bit", arguments: QuantFormat.allCases)
    func threadingIsDeterministic(format: QuantFormat) {
        let n = BlockwiseKernels.parallelThreshold + 1000  // above the threshold, ragged tail
        let t = QuantTestRNG.normalTensor([n], seed: 17)
        let q = QuantizedTensor(quantizing: t, format: format, blocksize: 64)
        var codes = [UInt8](repeating: 0, count: (n + 1) / 2)
        var absmax = [Float](repeating: 0, count: (n + 63) / 64)
        t.storage.withUnsafeBufferPointer { x in
            codes.withUnsafeMutableBufferPointer { c in
                absmax.withUnsafeMutableBufferPointer { a in
                    BlockwiseKernels.quantize(x.baseAddress!, count: n, blocksize: 64, blocks: 0..<a.count,
                                              codebook: Codebook.of(format), codes: c.baseAddress!, absmax: a.baseAddress!)
                }
            }
        }
        #expect(q.codes == codes)
        #expect(q.blockAbsmax == absmax)
        // Dequantize: threaded into a buffer equals a plain per-element loop.
        let back = q.dequantize().storage
        let levels = format.levels
        let plain = (0..<n).map { levels[Int(quantNibble(codes, $0))] * absmax[$0 / 64] }
        #expect(back == plain)
    }

    @Test("dequantize(into:) writes the same values as dequantize()", arguments: [false, true])
    func dequantizeInto(doubleQuant: Bool) {
        let t = QuantTestRNG.normalTensor([513], seed: 19)
        let q = QuantizedTensor(quantizing: t, format: .nf4, blocksize: 128, doubleQuant: doubleQuant)
        var buffer = [Float](repeating: .nan, count: 513)
        buffer.withUnsafeMutableBufferPointer { q.dequantize(into: $0) }
        #expect(buffer == q.dequantize().storage)
    }

    @Test("NF4 beats int4 on N(0, 1) data at blocksize 64 (MSE)")
    func nf4BeatsInt4() {
        let t = QuantTestRNG.normalTensor([256, 256], seed: 23)
        let nf4 = QuantizationError(of: t, format: .nf4, blocksize: 64)
        let int4 = QuantizationError(of: t, format: .int4, blocksize: 64)
        #expect(nf4.mse < int4.mse, "NF4 MSE \(nf4.mse) vs int4 MSE \(int4.mse)")
    }

    @Test("restoring from stored parts gives back the same tensor")
    func restoreFromParts() {
        let t = QuantTestRNG.normalTensor([10, 30], seed: 29)
        let q = QuantizedTensor(quantizing: t, format: .fp4, blocksize: 32, doubleQuant: true)
        let r = QuantizedTensor(format: q.format, shape: q.shape, blocksize: q.blocksize, codes: q.codes, absmax: q.absmax)
        #expect(r == q)
        #expect(r.dequantize() == q.dequantize())
    }

    @Test("an empty tensor quantizes to nothing and back", arguments: [false, true])
    func emptyTensor(doubleQuant: Bool) {
        let q = QuantizedTensor(quantizing: Tensor(shape: [0, 8]), format: .nf4, doubleQuant: doubleQuant)
        #expect(q.codes.isEmpty && q.blockCount == 0)
        #expect(q.dequantize() == Tensor(shape: [0, 8]))
    }

    @Test("blocksize must be a power of two in 32…4096")
    func blocksizes() {
        #expect([32, 64, 128, 4096].allSatisfy(QuantizedTensor.isValidBlocksize))
        #expect(![0, 16, 48, 8192].contains(where: QuantizedTensor.isValidBlocksize))
    }
}
