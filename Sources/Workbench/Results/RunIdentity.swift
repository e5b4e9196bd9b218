import Foundation
import PEFTEngine

/// What a base or a cell *is*, independent of the study file's text: the resolved settings
/// that determine every number it holds. Two studies that resolve a cell the same way (a method
/// or seed added, a comment edited, keys reordered) share the cell; any change that could alter
/// a result (a learning rate, a task, the base, the evaluation set, a data file's content)
/// gives another identity, and so another file name.
///
/// The identity is canonical JSON (sorted keys); its `id` is XXH64 of that text, 16 hex digits.
/// Not part of the identity: the BLAS kernel and thread count (results are bit-reproducible per
/// kernel and thread count, and each part records the ones it ran with).
public struct RunIdentity: Sendable, Equatable {
    /// Canonical JSON of the settings.
    public let json: String
    /// XXH64 of `json`, hex.
    public let id: String

    init(_ object: [String: Any]) {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        json = String(decoding: data, as: UTF8.self)
        id = String(format: "%016llx", XXHash64.hash(Array(data)))
    }

    /// The base of `seed`: model, how its weights come about, the columns it is evaluated on.
    static func base(_ resolved: ResolvedStudy, seed: Int) -> RunIdentity {
        let study = resolved.study
        var source: [String: Any]
        switch study.base.source {
        case .pretrain(let settings): source = ["pretrain": training(settings)]
        case .checkpoint(let path): source = ["checkpoint": path, "content_xxh64": contentHash(path) ?? "unreadable"]
        case .pretrained(let base):
            source = ["pretrained": base.label]
            if case .known(let model) = base { source["sha256"] = model.file.sha256 }
            if let path = base.contentPath { source["content_xxh64"] = contentHash(path) ?? "unreadable" }
        }
        let c = resolved.config
        var model: [String: Any] = ["vocab_size": c.vocabSize, "d_model": c.dModel, "n_layers": c.layers, "n_heads": c.heads,
                                    "d_ff": c.dFF, "context_length": c.contextLength]
        if c.isLlama {
            model["architecture"] = c.architecture.rawValue
            model["n_kv_heads"] = c.kvHeads
            model["rope_theta"] = c.ropeTheta
            model["rms_norm_eps"] = Double(c.rmsNormEpsilon)
            model["tie_word_embeddings"] = c.tiedEmbeddings
        }
        return RunIdentity([
            "kind": "base", "layout": ResultsLayout.version, "seed": seed,
            "model": model,
            "source": source,
            "skills": study.base.skills.map(task),
            "columns": resolved.columns.map { ["kind": $0.kind.rawValue, "name": $0.name, "task": task($0.spec), "test_count": $0.testCount] },
            "evaluation": evaluation(study.evaluation),
        ])
    }

    /// A cell: its base, the method configuration, protocol, seed, the training of each task, and
    /// what it stores (`StorePolicy`).
    static func cell(_ resolved: ResolvedStudy, run: MethodRun, seed: Int, base: RunIdentity) -> RunIdentity {
        let study = resolved.study
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let configuration = (try? encoder.encode(run.configuration))
            .flatMap { try? JSONSerialization.jsonObject(with: $0) } ?? [:]
        return RunIdentity([
            "kind": "cell", "layout": ResultsLayout.version, "seed": seed, "base": base.id,
            "label": run.label, "method": run.methodName, "protocol": run.fineTuningProtocol.rawValue,
            "configuration": configuration,
            // What the cell holds is part of what it is: another store policy is another file.
            "store": ["delta": study.store.delta.rawValue, "weights": study.store.weights.rawValue, "spectrum_k": study.store.spectrumK],
            "tasks": resolved.tasks.map { column in
                ["task": task(column.spec), "training": training(run.training(for: column.spec, defaults: study.training))] as [String: Any]
            },
        ])
    }

    /// The evaluation settings; `greedy` only when on, so studies without it keep their identities.
    static func evaluation(_ e: EvaluationSettings) -> [String: Any] {
        var out: [String: Any] = ["test_size": e.testSize, "batch": e.batch]
        if e.greedy { out["greedy"] = true }
        return out
    }

    static func training(_ s: TrainingSettings) -> [String: Any] {
        var out: [String: Any] = ["steps": s.steps, "lr": s.learningRate, "batch": s.batch, "warmup": s.warmup,
                                  "schedule": s.schedule.rawValue, "weight_decay": s.weightDecay]
        out["max_grad_norm"] = s.maxGradNorm ?? NSNull()
        return out
    }

    static func task(_ spec: TaskSpec) -> [String: Any] {
        var parameters: [String: Any] = [:]
        for (key, value) in spec.parameters {
            parameters[key] = json(value)
            if key == "path", case .string(let path) = value { parameters["path_content_xxh64"] = contentHash(path) ?? "unreadable" }
        }
        var overrides: [String: Any] = [:]
        if let v = spec.overrides.steps { overrides["steps"] = v }
        if let v = spec.overrides.learningRate { overrides["lr"] = v }
        if let v = spec.overrides.batch { overrides["batch"] = v }
        return ["name": spec.name, "kind": spec.kind, "parameters": parameters, "overrides": overrides]
    }

    static func json(_ value: StudyValue) -> Any {
        switch value {
        case .int(let v): return v
        case .double(let v): return v
        case .string(let v): return v
        case .bool(let v): return v
        case .strings(let v): return v
        case .ints(let v): return v
        }
    }

    /// XXH64 of a file's content, hex; nil when it cannot be read.
    static func contentHash(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hasher = XXHash64()
        while let chunk = try? handle.read(upToCount: 4 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update($0) }
        }
        return String(format: "%016llx", hasher.finalize())
    }

    /// Keys whose values differ between two identities' JSON, as "key: old → new" (nested keys
    /// joined by dots, arrays by index): what the runner says when a cell changed.
    public static func differences(_ old: String, _ new: String) -> [String] {
        guard let a = try? JSONSerialization.jsonObject(with: Data(old.utf8)),
              let b = try? JSONSerialization.jsonObject(with: Data(new.utf8)) else { return ["identity unreadable"] }
        var out: [String] = []
        func walk(_ x: Any?, _ y: Any?, _ path: String) {
            if let dx = x as? [String: Any], let dy = y as? [String: Any] {
                for key in Set(dx.keys).union(dy.keys).sorted() { walk(dx[key], dy[key], path.isEmpty ? key : "\(path).\(key)") }
            } else if let ax = x as? [Any], let ay = y as? [Any], ax.count == ay.count {
                for i in ax.indices { walk(ax[i], ay[i], "\(path)[\(i)]") }
            } else if !same(x, y) {
                out.append("\(path): \(show(x)) → \(show(y))")
            }
        }
        walk(a, b, "")
        return out
    }

    private static func same(_ x: Any?, _ y: Any?) -> Bool {
        guard let x, let y else { return x == nil && y == nil }
        let options: JSONSerialization.WritingOptions = [.sortedKeys, .fragmentsAllowed]
        return (try? JSONSerialization.data(withJSONObject: x, options: options)) == (try? JSONSerialization.data(withJSONObject: y, options: options))
    }

    private static func show(_ x: Any?) -> String {
        guard let x else { return "(none)" }
        let data = try? JSONSerialization.data(withJSONObject: x, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "\(x)"
    }
}
