import Foundation
import Testing
@testable import PEFTEngine

/// The SIMD, threaded quantization kernels against their plain-loop reference
/// (`BlockwiseReference`): codes, absmax and dequantized values must agree bit for bit, on
/// data chosen to hit the edge cases of the nearest-level search.
@Suite("Quant fast path equals the plain-loop reference")
struct QuantFastPathTests {
    /// Blocks of `blocksize` values, each probing one edge case, then a partial last block of
    /// odd length:
    /// 0. N(0, 1) values;
    /// 1. ties at absmax 1: every midpoint exactly (x·inv = Mₖ), negated, and each level;
    /// 2. ties at absmax 2 (x = 2·Mₖ is exact and inv = ½ is exact, so x·inv = Mₖ again);
    /// 3. zeros only, +0 and −0 (absmax 0, inv 0);
    /// 4. ±greatestFiniteMagnitude next to ordinary values (inv is subnormal);
    /// 5. subnormals only (inv overflows to +∞: 0·∞ is NaN, which no midpoint is below);
    /// 6. and 7. N(0, 1) scaled by 1e-30 and 1e30.
    static func edgeCaseValues(format: QuantFormat, blocksize: Int, seed: UInt64) -> [Float] {
        let midpoints = Codebook.of(format).midpoints.filter(\.isFinite)
        let levels = format.levels
        var rng = QuantTestRNG(seed: seed)
        func block(_ make: (Int) -> Float) -> [Float] { (0..<blocksize).map(make) }
        func normal() -> Float { Float(rng.nextNormal()) }
        let ties = [1] + midpoints + midpoints.map { -$0 } + levels
        var values: [Float] = []
        values += block { _ in normal() }
        values += block { ties[$0 % ties.count] }
        values += block { 2 * ties[$0 % ties.count] }
        values += block { $0 % 2 == 0 ? 0 : -0.0 }
        values += block { i in
            i == 0 ? .greatestFiniteMagnitude : i == 1 ? -.greatestFiniteMagnitude : normal() * 1e37
        }
        values += block { i in
            [Float.leastNonzeroMagnitude, -.leastNonzeroMagnitude, 0, Float.leastNormalMagnitude / 4][i % 4]
        }
        values += block { _ in normal() * 1e-30 }
        values += block { _ in normal() * 1e30 }
        values += (0..<(blocksize / 2 + 7)).map { _ in normal() }  // partial, odd-length last block
        return values
    }

    static func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

    @Test("codes and absmax equal the reference bit for bit, for every worker count",
          arguments: QuantFormat.allCases, [32, 64, 128])
    func quantizeMatchesReference(format: QuantFormat, blocksize: Int) {
        let x = Self.edgeCaseValues(format: format, blocksize: blocksize, seed: 29)
        let reference = BlockwiseReference.quantize(x, format: format, blocksize: blocksize)
        for workers in [1, 2, 3] {
            let q = Parallel.$forcedWorkers.withValue(workers) {
                QuantizedTensor(quantizing: Tensor(shape: [x.count], storage: x), format: format, blocksize: blocksize)
            }
            #expect(q.codes == reference.codes, "\(format) B=\(blocksize) workers=\(workers): first differing byte \(String(describing: zip(q.codes, reference.codes).enumerated().first { $0.element.0 != $0.element.1 }?.offset))")
            #expect(Self.bits(q.blockAbsmax) == Self.bits(reference.absmax), "\(format) B=\(blocksize) workers=\(workers): absmax")
        }
    }

    @Test("dequantize equals levels[code]·absmax bit for bit, with and without double quantization",
          arguments: QuantFormat.allCases, [false, true])
    func dequantizeMatchesReference(format: QuantFormat, doubleQuant: Bool) {
        let blocksize = 64
        let x = Self.edgeCaseValues(format: format, blocksize: blocksize, seed: 31)
        for workers in [1, 2, 3] {
            Parallel.$forcedWorkers.withValue(workers) {
                let q = QuantizedTensor(quantizing: Tensor(shape: [x.count], storage: x), format: format,
                                        blocksize: blocksize, doubleQuant: doubleQuant)
                let scale: (Int) -> Float
                switch q.absmax {
                case .float(let a): scale = { a[$0] }
                case .doubleQuantized(let d): scale = { d.value(at: $0) }
                }
                let reference = BlockwiseReference.dequantize(
                    codes: q.codes, count: x.count, format: format, blocksize: blocksize, scale: scale)
                #expect(Self.bits(q.dequantize().storage) == Self.bits(reference),
                        "\(format) doubleQuant=\(doubleQuant) workers=\(workers)")
            }
        }
    }

    @Test("above the parallel threshold the default split still equals the reference", arguments: QuantFormat.allCases)
    func largeTensorMatchesReference(format: QuantFormat) {
        let n = BlockwiseKernels.parallelThreshold + 3 * 64 + 11
        let x = QuantTestRNG.normalTensor([n], seed: 37).storage
        let reference = BlockwiseReference.quantize(x, format: format, blocksize: 64)
        let q = QuantizedTensor(quantizing: Tensor(shape: [n], storage: x), format: format, blocksize: 64)
        #expect(q.codes == reference.codes)
        #expect(Self.bits(q.blockAbsmax) == Self.bits(reference.absmax))
    }

    @Test("the edge-case data really contains exact ties with a midpoint")
    func edgeCasesHitTies() {
        let x = Self.edgeCaseValues(format: .nf4, blocksize: 64, seed: 29)
        let midpoints = Set(Codebook.nf4.midpoints.filter(\.isFinite))
        // Block 1 has absmax 1, so x·inv = x there.
        #expect(x[64..<128].filter { midpoints.contains($0) }.count >= 15)
    }
}
