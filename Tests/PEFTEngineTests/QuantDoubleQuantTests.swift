import Testing
@testable import PEFTEngine

/// Double quantization of the absmax constants, and the storage cost it buys.
@Suite("Quant double quantization")
struct QuantDoubleQuantTests {
    /// Slack for Float32 rounding in map·scale + mean, relative to the scale.
    static let roundingSlack: Float = 1e-5

    @Test("reconstructed absmax within maxHalfGap·scale of the original")
    func absmaxReconstruction() {
        let t = QuantTestRNG.normalTensor([300 * 64 + 17], seed: 31)  // 301 blocks: two DQ blocks, ragged
        let plain = QuantizedTensor(quantizing: t, format: .nf4, blocksize: 64)
        let a = plain.blockAbsmax
        let dq = DoubleQuantizedAbsmax(quantizing: a)
        #expect(dq.count == 301 && dq.scales.count == 2)
        let mean = a.reduce(0.0) { $0 + Double($1) } / Double(a.count)
        #expect(abs(Double(dq.mean) - mean) < 1e-6)
        for i in 0..<a.count {
            let s = dq.scales[i / 256]
            #expect(abs(dq.value(at: i) - a[i]) <= dq.errorBound(at: i) + Self.roundingSlack * s,
                    "absmax \(i): \(a[i]) → \(dq.value(at: i))")
        }
        // The scale is the largest centred absmax of its block, so that one maps to ±1 exactly or nearly.
        for j in 0..<2 {
            let block = a[(j * 256)..<min((j + 1) * 256, a.count)]
            #expect(dq.scales[j] == block.map { abs($0 - dq.mean) }.max()!)
        }
    }

    @Test("QuantizedTensor with doubleQuant uses the reconstructed absmax", arguments: QuantFormat.allCases)
    func elementBoundWithDoubleQuant(format: QuantFormat) {
        let t = QuantTestRNG.normalTensor([40, 64], seed: 37)
        let exact = QuantizedTensor(quantizing: t, format: format, blocksize: 64)
        let q = QuantizedTensor(quantizing: t, format: format, blocksize: 64, doubleQuant: true)
        #expect(q.codes == exact.codes)  // codes come from the exact absmax
        guard case .doubleQuantized(let dq) = q.absmax else {
            Issue.record("expected double-quantized absmax"); return
        }
        let back = q.dequantize().storage
        let halfGap = Codebook.of(format).maxHalfGap
        for i in 0..<t.count {
            let b = i / 64
            let a = exact.blockAbsmax[b]
            // |x − L·â| ≤ |x − L·a| + |L|·|a − â| ≤ halfGap·a + |a − â|
            let bound = halfGap * a * 1.00001 + abs(a - dq.value(at: b)) * 1.00001 + 1e-6
            #expect(abs(back[i] - t.storage[i]) <= bound, "\(format): element \(i)")
        }
    }

    @Test("equal absmaxes: zero scale reconstructs the mean exactly")
    func constantAbsmax() {
        let dq = DoubleQuantizedAbsmax(quantizing: [Float](repeating: 0.75, count: 300))
        #expect(dq.scales == [0, 0])
        #expect(dq.dequantize().allSatisfy { $0 == 0.75 })
    }

    @Test("bits per parameter: 4.5 plain, 4 + 8/64 + 32/(64·256) with double quantization")
    func bitsPerParameter() {
        let n = 64 * 256 * 4
        let t = QuantTestRNG.normalTensor([n], seed: 41)
        let plain = QuantizedTensor(quantizing: t, format: .nf4, blocksize: 64)
        let dq = QuantizedTensor(quantizing: t, format: .nf4, blocksize: 64, doubleQuant: true)
        #expect(plain.bitsPerParameter == 4 + 32.0 / 64)
        // The Float32 mean adds 32/n bits: negligible, but counted.
        #expect(dq.bitsPerParameter == 4 + 8.0 / 64 + 32.0 / (64 * 256) + 32.0 / Double(n))
        #expect(abs(dq.bitsPerParameter - 4.127) < 1e-3)
        #expect(plain.storageBytes == QuantizedTensor.storageBytes(count: n, blocksize: 64, doubleQuant: false))
        #expect(dq.storageBytes == QuantizedTensor.storageBytes(count: n, blocksize: 64, doubleQuant: true))
    }

    @Test("storage bytes of a ragged tensor count every stored byte")
    func raggedStorage() {
        let n = 1001  // 501 code bytes, 16 blocks of 64 (last has 41), one DQ block
        #expect(QuantizedTensor.storageBytes(count: n, blocksize: 64, doubleQuant: false) == 501 + 16 * 4)
        #expect(QuantizedTensor.storageBytes(count: n, blocksize: 64, doubleQuant: true) == 501 + 16 + 4 + 4)
        let q = QuantizedTensor(quantizing: QuantTestRNG.normalTensor([n], seed: 43), format: .int4, blocksize: 64, doubleQuant: true)
        #expect(q.storageBytes == 501 + 16 + 4 + 4)
    }
}
