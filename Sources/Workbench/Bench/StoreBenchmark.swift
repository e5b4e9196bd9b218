import Foundation
import PEFTEngine

/// What committing one stage of a cell costs at real size: a SmolLM2-135M-shaped model (30
/// LLaMA layers of q 576×576, k and v 192×576, o 576×576, gate and up 1536×576, down 576×1536;
/// embeddings 49,152×576; random values), for full fine-tuning and LoRA r = 8 on all seven
/// projections, under every `store:` delta form with the final stage's weights kept.
///
/// Each stage goes through the runner's own path: `HDF5Transaction.create`, the trained weights,
/// `DeltaStore.write`, commit (close, `FileSeal`, fsync, rename). Figures, per method × form:
/// - "store_commit" (s): the whole commit; `detail` gives the file's bytes;
/// - "store_verify" (s): `FileSeal.verify` of the committed file (what resume and readers pay).
/// `spectrum` is timed on 2 of the 30 layers and scaled by 15 (its SVDs dominate; `detail` says so).
/// "store_commit_scaling" (s): committing one more 4 MB part into a study that already holds
/// 1, 64 and 256 parts (after a `sync`) — a commit writes its own file only, so they are alike.
public struct StoreBenchmark: Benchmark {
    public let name = "store"
    public let summary = "commit and verify seconds of one stage of a SmolLM2-135M-shaped cell per store: policy (full, LoRA r=8), and commit time vs study size"
    public var parent: URL

    public init(parent: URL = FileManager.default.temporaryDirectory) { self.parent = parent }

    struct Shape {
        var layers: Int, d: Int, kv: Int, ff: Int, vocab: Int
        /// (name, out, in) of every linear site.
        var sites: [(String, Int, Int)] {
            (0..<layers).flatMap { l in
                [("q_proj", d, d), ("k_proj", kv, d), ("v_proj", kv, d), ("o_proj", d, d),
                 ("gate_proj", ff, d), ("up_proj", ff, d), ("down_proj", d, ff)].map { ("model.layers.\(l).self_attn.\($0.0).weight", $0.1, $0.2) }
            }
        }
        var parameters: Int { sites.reduce(0) { $0 + $1.1 * $1.2 } + vocab * d + layers * 2 * d + d }
    }

    public func run(_ settings: BenchSettings, report: (BenchFigure) -> Void) {
        let shape = settings.quick ? Shape(layers: 2, d: 32, kv: 16, ff: 64, vocab: 100) : Shape(layers: 30, d: 576, kv: 192, ff: 1536, vocab: 49_152)
        let folder = parent.appendingPathComponent("workbench-bench-store-\(getpid())-\(UUID().uuidString)")
        do { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) } catch {
            preconditionFailure("bench store: cannot create \(folder.path): \(error)")
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        let reps = settings.reps(normal: 2)
        let r = 8
        let sites = shape.sites
        for method in ["full", "lora"] {
            // ΔW per site; LoRA's is a rank-8 product, full's dense noise. Method tensors: A, B.
            var deltas: [(name: String, tensor: Tensor)] = []
            var factors: [(String, Tensor)] = []
            for (i, (name, out, inp)) in sites.enumerated() {
                if method == "lora" {
                    let a = Tensor(shape: [r, inp], storage: BenchTiming.randomValues(r * inp, seed: UInt64(2 * i + 1)))
                    let b = Tensor(shape: [out, r], storage: BenchTiming.randomValues(out * r, seed: UInt64(2 * i + 2)))
                    factors += [(name + ".lora_A", a), (name + ".lora_B", b)]
                    deltas.append((name, Tensor.matmul(b, a)))
                } else {
                    deltas.append((name, Tensor(shape: [out, inp], storage: BenchTiming.randomValues(out * inp, seed: UInt64(i + 7)))))
                }
            }
            // Full fine-tuning's trained weights: every parameter (the ΔW shapes plus embeddings and norms).
            let embedding = Tensor(shape: [shape.vocab, shape.d], storage: BenchTiming.randomValues(shape.vocab * shape.d, seed: 99))
            for form in StorePolicy.Delta.allCases {
                let partial = form == .spectrum && !settings.quick
                let used = partial ? Array(deltas.prefix(14)) : deltas
                let scale = partial ? 15.0 : 1.0
                let url = folder.appendingPathComponent("\(method)-\(form.rawValue).h5")
                let policy = StorePolicy(delta: form, weights: .final, spectrumK: 16)
                let commit = BenchTiming.seconds(reps: reps, warmUp: false) {
                    do {
                        let t = try HDF5Transaction.create(at: url)
                        let stage = try t.root.createGroup("after_task1")
                        if method == "full" {
                            for d in used { try stage.write(d.tensor, to: "trainable/base/\(d.name)") }
                            if !partial { try stage.write(embedding, to: "trainable/base/model.embed_tokens.weight") }
                        } else {
                            for (name, tensor) in factors.prefix(partial ? 28 : factors.count) { try stage.write(tensor, to: "trainable/method/\(name)") }
                        }
                        try DeltaStore.write(used, to: stage, policy: policy, asFactors: method == "lora")
                        try t.commit()
                    } catch {
                        preconditionFailure("bench store: \(url.path): \(error)")
                    }
                }.map { $0 * scale }
                let bytes = Double((try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0) * scale
                let verify = BenchTiming.seconds(reps: reps, warmUp: false) { _ = try? FileSeal.verify(url) }.map { $0 * scale }
                let what = "\(method), store: {delta: \(form.rawValue), weights: final}; one stage of a SmolLM2-135M-shaped cell"
                    + (settings.quick ? " (quick: 2 layers, d 32)" : "") + (partial ? "; timed on 2 of 30 layers, × 15" : "")
                var c = BenchTiming.timeFigure(name: "store_commit", size: shape.parameters, threads: 1, seconds: commit)
                c.method = method
                c.detail = what + String(format: "; file %.1f MB (%.2f bytes per parameter)", bytes / 1e6, bytes / Double(shape.parameters))
                report(c)
                var v = BenchTiming.timeFigure(name: "store_verify", size: shape.parameters, threads: 1, seconds: verify)
                v.method = method
                v.detail = what + String(format: "; XXH64 over %.1f MB", bytes / 1e6)
                report(v)
            }
        }
        // Commit cost against study size: the 2nd part and the 65th part of a study.
        let part = Tensor(shape: [1024, 1024], storage: BenchTiming.randomValues(1 << 20, seed: 3))
        let study = folder.appendingPathComponent("scaling")
        try? FileManager.default.createDirectory(at: study, withIntermediateDirectories: true)
        func commitPart(_ i: Int) -> Double {
            let clock = ContinuousClock()
            return clock.measure {
                do { try HDF5Transaction.write(to: study.appendingPathComponent("cell-\(i).h5")) { try $0.write(part, to: "delta/w") } } catch {
                    preconditionFailure("bench store: \(error)")
                }
            }.inSeconds
        }
        let counts = settings.quick ? [1, 4] : [1, 64, 256]
        var made = 0
        for held in counts {
            while made < held { _ = commitPart(made); made += 1 }
            // Let writeback of the parts just made settle, so each size is timed alike.
            sync()
            let seconds = (0..<max(reps, settings.quick ? 1 : 5)).map { _ -> Double in made += 1; return commitPart(made - 1) }
            var f = BenchTiming.timeFigure(name: "store_commit_scaling", size: held, threads: 1, seconds: seconds)
            f.detail = "committing one more 4 MB part into a study already holding \(held) part(s); a commit writes only its own file (the single-file layout copied every earlier part)"
            report(f)
        }
    }
}
