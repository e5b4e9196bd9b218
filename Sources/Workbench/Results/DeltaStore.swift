import Analysis
import Foundation
import PEFTEngine

/// The one owner of how ΔW is stored in a cell's `after_task{t}` group under each
/// `StorePolicy.Delta`, and of reading it back.
///
/// Every stage group records `delta_storage` (the form used: `dense`, `bfloat16`, `factors`,
/// `spectrum`, `none`) and `delta_sites` (the parameter names that have a ΔW), so a reader knows
/// what exists without guessing from datasets:
///
///     dense      delta/NAME                 float32 [out, in]
///     bfloat16   delta_bf16/NAME            uint16 [out, in]: the upper 16 bits of the float32,
///                                           rounded to nearest even (NumPy: `(x.astype(np.uint32) << 16).view(np.float32)`)
///     factors    trainable/method/NAME      the method's tensors; ΔW = the method's delta(for:)
///     spectrum   delta_svd/NAME/singular_values [min(out, in)], u [out, k], v [in, k]
///     none       nothing
///
/// Whatever the form, `delta_energy90_rank` [sites] (int64, in `delta_sites` order) holds each
/// ΔW's energy-90 % rank, the smallest k with Σ_{i≤k} σ_i² ≥ 0.9 Σ σ_i² (`RankSpectrum`), from
/// its full float32 singular values (0 for ΔW = 0, −1 for a ΔW with a non-finite entry, as after
/// a diverged step): the summary's "is ΔW low-rank?" figure, kept even when ΔW itself is not.
enum DeltaStore {
    static let storageAttribute = "delta_storage"
    static let sitesAttribute = "delta_sites"
    static let energyRankDataset = "delta_energy90_rank"

    /// Writes `deltas` into a stage group. `asFactors`: the method's tensors are in
    /// `trainable/method` and rebuild these ΔW; otherwise `factors` falls back to dense.
    static func write(_ deltas: [(name: String, tensor: Tensor)], to stage: HDF5Group, policy: StorePolicy, asFactors: Bool) throws {
        var form = policy.delta
        if form == .factors && !asFactors { form = .dense }
        try stage.setAttribute(storageAttribute, form.rawValue)
        try stage.setAttribute(sitesAttribute, .strings(deltas.map(\.name)))
        var ranks: [Int64] = []
        for (_, delta) in deltas {
            guard delta.storage.allSatisfy(\.isFinite) else { ranks.append(-1); continue }
            let sigma = try SVD.singularValues(of: delta, threading: .singleThreadWhenSmall)
            let spectrum = RankSpectrum(singularValues: sigma, rows: delta.shape[0], columns: delta.shape[1])
            ranks.append(Int64(spectrum.energyRank90 ?? 0))
        }
        if !deltas.isEmpty { try stage.write(ranks, to: energyRankDataset) }
        for (name, delta) in deltas {
            switch form {
            case .dense:
                try stage.write(delta, to: "delta/\(name)")
            case .bfloat16:
                try stage.write(delta.storage.map(bfloat16), shape: delta.shape, to: "delta_bf16/\(name)")
            case .spectrum:
                let (u, s, vt) = try SVD.decompose(delta)
                let k = min(policy.spectrumK, s.count)
                let (m, n) = (delta.shape[0], delta.shape[1])
                let full = s.count
                var uk = [Float](repeating: 0, count: m * k), vk = [Float](repeating: 0, count: n * k)
                for i in 0..<m { for j in 0..<k { uk[i * k + j] = u.storage[i * full + j] } }
                for i in 0..<n { for j in 0..<k { vk[i * k + j] = vt.storage[j * n + i] } }
                try stage.write(s, to: "delta_svd/\(name)/singular_values")
                try stage.write(uk, shape: [m, k], to: "delta_svd/\(name)/u")
                try stage.write(vk, shape: [n, k], to: "delta_svd/\(name)/v")
            case .factors, .none:
                break
            }
        }
    }

    /// bfloat16 of x, round to nearest even (NaN stays NaN): `HalfPrecision`'s conversion.
    static func bfloat16(_ x: Float) -> UInt16 { HalfPrecision.bfloat16Bits(from: x) }

    static func float(fromBFloat16 h: UInt16) -> Float { HalfPrecision.float(fromBFloat16Bits: h) }

    /// The form a stage group stored ΔW in (groups written before the attribute: dense).
    static func form(of stage: HDF5Group) throws -> StorePolicy.Delta {
        guard try stage.hasAttribute(storageAttribute) else { return .dense }
        return StorePolicy.Delta(rawValue: try stage.stringAttribute(storageAttribute)) ?? .dense
    }

    /// Names with a ΔW in the stage.
    static func sites(of stage: HDF5Group) throws -> [String] {
        if try stage.hasAttribute(sitesAttribute), case .strings(let names) = try stage.attribute(sitesAttribute) { return names }
        return try stage.contains("delta") ? try stage.group("delta").children() : []
    }

    /// ΔW read directly (dense or bfloat16); nil for the forms that need more than the file.
    static func readDirect(_ stage: HDF5Group, name: String) throws -> Tensor? {
        switch try form(of: stage) {
        case .dense: return try stage.readTensor("delta/\(name)")
        case .bfloat16:
            let array = try stage.readArray("delta_bf16/\(name)", as: UInt16.self)
            return Tensor(shape: array.shape, storage: array.values.map(float(fromBFloat16:)))
        default: return nil
        }
    }

    /// The `store:` settings that would provide the whole ΔW, for a message.
    static let wholeDeltaSettings = "store: {delta: dense}, {delta: bfloat16} or {delta: factors}"
}
