/// Residual connection: `out = a + b`, elementwise over N values. Its backward is the
/// identity into both inputs, which the model applies by accumulating into one running
/// residual-stream gradient, so only the forward exists.
enum Residual {
    static func forward(out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>, b: UnsafePointer<Float>, N: Int) {
        for i in 0..<N { out[i] = a[i] + b[i] }
    }
}
