/// A tensor stored as blockwise 4-bit codes plus one absmax per block (QLoRA's NF4 storage,
/// Dettmers et al. 2023; also FP4 and int4 through `QuantFormat`).
///
/// For n = shape.product values and blocksize B: `codes` holds ⌈n/2⌉ bytes (two codes per
/// byte, first element in the high nibble), `absmax` one constant per block, ⌈n/B⌉ of them —
/// Float32, or double-quantized (`DoubleQuantizedAbsmax`). x̂ᵢ = levels[codeᵢ]·absmax_{i/B}.
/// Flattening is row-major; the shape is carried only to rebuild the `Tensor`.
public struct QuantizedTensor: Equatable, Sendable {
    /// The block constants: plain Float32, or quantized again to 8 bits (QLoRA §3).
    public enum Absmax: Equatable, Sendable {
        case float([Float])
        case doubleQuantized(DoubleQuantizedAbsmax)
    }

    public let format: QuantFormat
    public let shape: [Int]
    /// Values per block: a power of two in 32…4096 (bitsandbytes' default for NF4 is 64).
    public let blocksize: Int
    /// Packed codes, ⌈count/2⌉ bytes; element 2k in the high nibble of byte k, 2k+1 in the low.
    public let codes: [UInt8]
    /// One absmax per block.
    public let absmax: Absmax

    /// Number of values (product of `shape`).
    public var count: Int { shape.reduce(1, *) }
    /// Number of blocks, ⌈count / blocksize⌉ (the last may be shorter).
    public var blockCount: Int { (count + blocksize - 1) / blocksize }

    /// Valid blocksizes: powers of two from 32 to 4096.
    public static func isValidBlocksize(_ b: Int) -> Bool { b >= 32 && b <= 4096 && b & (b - 1) == 0 }

    /// Quantizes `tensor` blockwise: absmax_b = max |xᵢ| over block b, codeᵢ = nearest level
    /// to xᵢ/absmax_b. Blocks are processed in parallel for large tensors; the result does not
    /// depend on the split. Inputs must be finite.
    public init(quantizing tensor: Tensor, format: QuantFormat = .nf4, blocksize: Int = 64, doubleQuant: Bool = false) {
        precondition(Self.isValidBlocksize(blocksize),
                     "QuantizedTensor: blocksize \(blocksize) is not a power of two in 32…4096")
        let n = tensor.count
        let nBlocks = (n + blocksize - 1) / blocksize
        let codebook = Codebook.of(format)
        // The kernel writes every code byte and every absmax (blocks tile 0..<n, the blocksize
        // is even, a short last block still writes its final byte), so neither array is
        // zero-filled first: that would be one more pass over the codes.
        var absmax = [Float]()
        let codes = [UInt8](unsafeUninitializedCapacity: (n + 1) / 2) { q, codeCount in
            absmax = [Float](unsafeUninitializedCapacity: nBlocks) { a, absmaxCount in
                tensor.storage.withUnsafeBufferPointer { x in
                    let xp = UncheckedSendable(x.baseAddress), qp = UncheckedSendable(q.baseAddress), ap = UncheckedSendable(a.baseAddress)
                    BlockwiseKernels.forEachBlockRange(blockCount: nBlocks, elementCount: n) { blocks in
                        BlockwiseKernels.quantize(
                            xp.value!, count: n, blocksize: blocksize, blocks: blocks,
                            codebook: codebook, codes: qp.value!, absmax: ap.value!)
                    }
                }
                absmaxCount = nBlocks
            }
            codeCount = (n + 1) / 2
        }
        self.format = format
        self.shape = tensor.shape
        self.blocksize = blocksize
        self.codes = codes
        self.absmax = doubleQuant ? .doubleQuantized(DoubleQuantizedAbsmax(quantizing: absmax)) : .float(absmax)
    }

    /// Restores stored parts (e.g. read back from a file); checks that the sizes agree.
    public init(format: QuantFormat, shape: [Int], blocksize: Int, codes: [UInt8], absmax: Absmax) {
        precondition(Self.isValidBlocksize(blocksize),
                     "QuantizedTensor: blocksize \(blocksize) is not a power of two in 32…4096")
        let n = shape.reduce(1, *)
        precondition(codes.count == (n + 1) / 2,
                     "QuantizedTensor: shape \(shape) needs \((n + 1) / 2) code bytes, got \(codes.count)")
        let nBlocks = (n + blocksize - 1) / blocksize
        let stored: Int
        switch absmax {
        case .float(let a): stored = a.count
        case .doubleQuantized(let d): stored = d.count
        }
        precondition(stored == nBlocks, "QuantizedTensor: \(nBlocks) blocks need \(nBlocks) absmax values, got \(stored)")
        self.format = format
        self.shape = shape
        self.blocksize = blocksize
        self.codes = codes
        self.absmax = absmax
    }

    /// Whether the absmax constants are double-quantized.
    public var isDoubleQuantized: Bool {
        if case .doubleQuantized = absmax { return true }
        return false
    }

    /// The 4-bit code of element i (row-major): the high nibble of byte i/2 when i is even.
    public func code(at i: Int) -> UInt8 {
        i % 2 == 0 ? codes[i / 2] >> 4 : codes[i / 2] & 0x0F
    }

    /// The absmax each block is dequantized with (exact, or reconstructed from double quantization).
    public var blockAbsmax: [Float] {
        switch absmax {
        case .float(let a): return a
        case .doubleQuantized(let d): return d.dequantize()
        }
    }

    /// x̂ as a new tensor of the original shape.
    public func dequantize() -> Tensor {
        var out = [Float](repeating: 0, count: count)
        out.withUnsafeMutableBufferPointer { dequantize(into: $0) }
        return Tensor(shape: shape, storage: out)
    }

    /// Writes x̂ into `out` (exactly `count` elements) without allocating: the path QLoRA takes
    /// in every forward and backward pass.
    public func dequantize(into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count == count, "QuantizedTensor.dequantize(into:): buffer holds \(out.count), tensor has \(count)")
        let n = count, bs = blocksize, nBlocks = blockCount
        let pairs = Codebook.of(format).pairTable
        let op = UncheckedSendable(out.baseAddress)
        pairs.withUnsafeBufferPointer { pairBuf in
            codes.withUnsafeBufferPointer { codeBuf in
                let pp = UncheckedSendable(pairBuf.baseAddress!), cp = UncheckedSendable(codeBuf.baseAddress)
                switch absmax {
                case .float(let a):
                    a.withUnsafeBufferPointer { aBuf in
                        let ap = UncheckedSendable(aBuf.baseAddress)
                        BlockwiseKernels.forEachBlockRange(blockCount: nBlocks, elementCount: n) { blocks in
                            let scales = ap.value!
                            BlockwiseKernels.dequantize(
                                cp.value!, count: n, blocksize: bs, blocks: blocks, pairs: pp.value,
                                scale: { scales[$0] }, into: op.value!)
                        }
                    }
                case .doubleQuantized(let d):
                    let map = DynamicQuantizationMap.values
                    map.withUnsafeBufferPointer { mBuf in
                        d.codes.withUnsafeBufferPointer { dcBuf in
                            d.scales.withUnsafeBufferPointer { dsBuf in
                                let mp = UncheckedSendable(mBuf.baseAddress!), dcp = UncheckedSendable(dcBuf.baseAddress!)
                                let dsp = UncheckedSendable(dsBuf.baseAddress!)
                                let mean = d.mean
                                BlockwiseKernels.forEachBlockRange(blockCount: nBlocks, elementCount: n) { blocks in
                                    let m = mp.value, dc = dcp.value, ds = dsp.value
                                    BlockwiseKernels.dequantize(
                                        cp.value!, count: n, blocksize: bs, blocks: blocks, pairs: pp.value,
                                        scale: { m[Int(dc[$0])] * ds[$0 / DoubleQuantizedAbsmax.blocksize] + mean },
                                        into: op.value!)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Bytes actually stored: packed codes plus the absmax representation.
    public var storageBytes: Int {
        switch absmax {
        case .float(let a): return codes.count + 4 * a.count
        case .doubleQuantized(let d): return codes.count + d.storageBytes
        }
    }

    /// storageBytes·8 / count. For count a multiple of 64·256 and blocksize 64: 4 + 32/64 = 4.5
    /// without double quantization, 4 + 8/64 + 32/(64·256) + 32/count ≈ 4.127 with it.
    public var bitsPerParameter: Double { Double(storageBytes * 8) / Double(count) }

    /// Bytes a tensor of `count` values would occupy, without quantizing anything.
    public static func storageBytes(count: Int, blocksize: Int, doubleQuant: Bool) -> Int {
        let nBlocks = (count + blocksize - 1) / blocksize
        let codeBytes = (count + 1) / 2
        if !doubleQuant { return codeBytes + 4 * nBlocks }
        let nScales = (nBlocks + DoubleQuantizedAbsmax.blocksize - 1) / DoubleQuantizedAbsmax.blocksize
        return codeBytes + nBlocks + 4 * nScales + 4
    }
}
