@testable import PEFTEngine

/// One attention problem on arrays: the pointer plumbing every attention test needs, once.
/// Shapes as in `Attention`: q, k, v, dout [B, T, C]; prefixK, prefixV [NH, P, HS] (read
/// only when P > 0).
struct AttentionProblem {
    var q: [Float], k: [Float], v: [Float]
    var prefixK: [Float], prefixV: [Float]
    var B: Int, T: Int, C: Int, NH: Int, P: Int

    /// `Attention.forward`: the output [B, T, C] and the probabilities [B, NH, T, P + T].
    func forward() -> (out: [Float], att: [Float]) {
        var out = [Float](repeating: 0, count: B * T * C), att = [Float](repeating: 0, count: B * NH * T * (P + T))
        withPrefix { prefixK, prefixV in
            Attention.forward(out: &out, att: &att, q: q, k: k, v: v, prefixK: prefixK, prefixV: prefixV,
                              B: B, T: T, C: C, NH: NH, P: P)
        }
        return (out, att)
    }

    /// `Attention.backward` from `att` (a `forward` result) and `dout`, into dq, dk, dv and —
    /// when `prefixGradients` and P > 0 — dprefixK, dprefixV; its scratch starts filled with
    /// `scratchFill` (NaN checks that nothing reads it before writing).
    func backward(
        att: [Float], dout: [Float], dq: inout [Float], dk: inout [Float], dv: inout [Float],
        dprefixK: inout [Float], dprefixV: inout [Float], prefixGradients: Bool, accumulate: Bool = true,
        scratchFill: Float = 0
    ) {
        var datt = [Float](repeating: scratchFill, count: Attention.scratchCount(T: T, S: P + T))
        let train = prefixGradients && P > 0
        withPrefix { prefixK, prefixV in
            dprefixK.withUnsafeMutableBufferPointer { dpk in
                dprefixV.withUnsafeMutableBufferPointer { dpv in
                    Attention.backward(dq: &dq, dk: &dk, dv: &dv,
                                       dprefixK: train ? dpk.baseAddress : nil, dprefixV: train ? dpv.baseAddress : nil,
                                       datt: &datt, dout: dout, att: att, q: q, k: k, v: v,
                                       prefixK: prefixK, prefixV: prefixV, B: B, T: T, C: C, NH: NH, P: P,
                                       accumulate: accumulate)
                }
            }
        }
    }

    private func withPrefix(_ body: (UnsafePointer<Float>?, UnsafePointer<Float>?) -> Void) {
        prefixK.withUnsafeBufferPointer { pk in
            prefixV.withUnsafeBufferPointer { pv in body(P > 0 ? pk.baseAddress : nil, P > 0 ? pv.baseAddress : nil) }
        }
    }
}
