/// Residual connection: `out = a + b`, elementwise over N values. Its backward is the
/// identity into both inputs, which the model applies by accumulating into one running
/// residual-stream gradient, so only the forward exists.
///
/// `forward` splits the elements over `Parallel` chunks (bit-identical to `forwardReference`).
enum Residual {
    /// Elements per chunk below which a call stays on one thread.
    static let grain = 16_384

    static func forward(out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, N: Int) {
        Parallel.forEachChunk(N, grain: grain) { _, range in
            for i in range { out[i] = a[i] + b[i] }
        }
    }

    /// Plain serial loop of `forward` (the reference it is tested against).
    static func forwardReference(out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, N: Int) {
        for i in 0..<N { out[i] = a[i] + b[i] }
    }
}
