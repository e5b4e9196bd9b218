import Foundation
import PEFTEngine
import Yams

/// Reads a study document top-down, in the order a reader would check it.
struct StudyParser {
    let file: String
    let text: String
    let catalog: MethodCatalog
    let workingDirectory: String
    /// Bytes a study may plan for (nil: the machine's physical memory).
    var memoryLimit: Double? = nil

    static let rootKeys = ["name", "seeds", "model", "base", "training", "evaluation", "tasks", "methods", "store", "output"]

    func parse() throws -> Study {
        let root = StudyNode(node: try compose(), keyPath: "", file: file)
        let map = try root.mapping()
        try map.rejectUnknownKeys(allowed: Self.rootKeys, context: "the study")

        let nameNode = try map.required("name")
        let name = try nonEmptyName(nameNode)
        let seeds = try map.optional("seeds").map(parseSeeds) ?? [0]
        let base = try parseBase(try map.required("base"))
        let model = try parseModel(try map.required("model"), pretrained: base.pretrained)
        let modelConfig = try validatedConfig(model, node: try map.required("model"))
        // The weights alone (the cell's model and the base's copy, 8 bytes per parameter) must fit
        // before anything walks the layers (method checks visit every linear site).
        let weights = 8 * ParameterStore.estimatedCount(modelConfig)
        if weights > Study.memoryLimit(memoryLimit) {
            throw try map.required("model").error(.invalidValue, "the model's weights alone need an estimated \(StudyMemoryEstimate.gib(weights)) (\(String(format: "%.3g", weights / 8)) parameters), more than the \(StudyMemoryEstimate.gib(Study.memoryLimit(memoryLimit))) available")
        }
        let training = try parseTraining(try map.required("training"))
        let evaluation = try map.optional("evaluation").map(parseEvaluation) ?? EvaluationSettings()
        let tasks = try parseTasks(try map.required("tasks"), allowOverrides: true, warmup: training.warmup)
        let runs = try parseMethods(try map.required("methods"), model: modelConfig, warmup: training.warmup)
        if seeds.count * runs.count > Study.maximumCells, let seedsNode = map.optional("seeds") {
            throw seedsNode.error(.invalidValue, "\(seeds.count) seeds × \(runs.count) configurations = \(seeds.count * runs.count) cells, more than the \(Study.maximumCells) a study may hold (split it into several studies)")
        }
        let output = try map.optional("output").map { try nonEmptyName($0, allowSlash: true) } ?? "results/\(name).h5"
        let store = try map.optional("store").map(parseStore) ?? StorePolicy()
        let study = Study(name: name, file: file, text: text, seeds: seeds, model: model, base: base, training: training,
                          evaluation: evaluation, tasks: tasks, runs: runs, store: store, output: output)
        // Before anything is built or written: would the largest cell fit in memory?
        let estimate = try study.memoryEstimate()
        let limit = Study.memoryLimit(memoryLimit)
        if estimate.bytes > limit {
            let modelNode = try map.required("model")
            throw modelNode.error(.invalidValue, "the largest cell needs an estimated \(estimate.description), more than the \(StudyMemoryEstimate.gib(limit)) available\(memoryLimit == nil ? " (this machine's memory)" : " (--max-memory)"); shrink the model, the batch or the context, or give --max-memory (README: “Memory, checked before training”)")
        }
        return study
    }

    // MARK: Document

    private func compose() throws -> Node {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw syntaxError(error)
        }
        guard let node else {
            throw StudyError(kind: .missingKey, file: file, keyPath: "", line: 1, column: 1,
                             message: "the study is empty; it needs at least name, model, base, training, tasks and methods")
        }
        return node
    }

    private func syntaxError(_ error: YamlError) -> StudyError {
        func make(_ mark: Mark?, _ problem: String, kind: StudyError.Kind = .syntax) -> StudyError {
            StudyError(kind: kind, file: file, keyPath: "", line: mark?.line, column: mark?.column,
                       message: kind == .syntax ? "YAML syntax error: \(problem)" : problem)
        }
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            return make(mark, (context.map { "\($0.text) " } ?? "") + problem)
        case .duplicatedKeysInMapping(let duplicates, let context):
            let keys = duplicates.map { "`\($0)`" }.joined(separator: ", ")
            return make(context.mark, "key \(keys) is given twice in one mapping", kind: .duplicateKey)
        default:
            return make(nil, "\(error)")
        }
    }

    private func nonEmptyName(_ node: StudyNode, allowSlash: Bool = false) throws -> String {
        let value = try node.string()
        if value.trimmingCharacters(in: .whitespaces).isEmpty { throw node.error(.invalidValue, "must not be empty") }
        if !allowSlash && value.contains("/") { throw node.error(.invalidValue, "must not contain \"/\" (it names a group in the results file)") }
        if !allowSlash, let problem = ResultsLayout.unusableGroupName(value) { throw node.error(.invalidValue, problem) }
        return value
    }

    // MARK: Seeds and model

    /// `seeds: [0, 5]` lists them; `seeds: 3` means 0, 1, 2. At most `Study.maximumSeeds`.
    private func parseSeeds(_ node: StudyNode) throws -> [Int] {
        if !node.isSequence {
            let count = try node.int()
            guard count > 0 else { throw node.error(.invalidValue, "a seed count must be ≥ 1, got \(count)") }
            guard count <= Study.maximumSeeds else { throw node.error(.invalidValue, "a seed count must be at most \(Study.maximumSeeds) (each seed is a base of its own), got \(count)") }
            return Array(0..<count)
        }
        let elements = try node.sequence()
        guard !elements.isEmpty else { throw node.error(.invalidValue, "seeds must not be empty: list them or give a count") }
        guard elements.count <= Study.maximumSeeds else { throw node.error(.invalidValue, "at most \(Study.maximumSeeds) seeds, got \(elements.count)") }
        var seen: [Int: Int] = [:]
        return try elements.enumerated().map { index, element in
            let seed = try element.nonNegativeInt()
            if let first = seen[seed] { throw element.error(.duplicateName, "seed \(seed) is listed twice (also seeds[\(first)])") }
            seen[seed] = index
            return seed
        }
    }

    private func parseModel(_ node: StudyNode, pretrained: PretrainedBase?) throws -> ModelShape {
        let map = try node.mapping()
        if let pretrained {
            try map.rejectUnknownKeys(allowed: ["context_length"], context: "model (the shape of the pretrained base \(pretrained.label) comes from its checkpoint; only context_length is set here)")
            let contextNode = try map.required("context_length")
            let contextLength = try contextNode.positiveInt()
            let config: LlamaCheckpoint.Config
            do {
                config = try pretrained.config()
            } catch {
                throw node.error(.missingCheckpoint, "cannot read the base model's architecture: \(error)")
            }
            return ModelShape(pretrained: config, contextLength: contextLength)
        }
        try map.rejectUnknownKeys(allowed: ModelShape.keys, context: "model")
        let vocabSize = try map.optional("vocab_size").map { node in
            let size = try node.positiveInt()
            guard size >= Vocabulary.size else {
                throw node.error(.invalidValue, "vocab_size \(size) is below the tasks' character vocabulary of \(Vocabulary.size) tokens; leave it out or give at least \(Vocabulary.size)")
            }
            return size
        }
        return ModelShape(
            vocabSize: vocabSize,
            dModel: try map.required("d_model").positiveInt(),
            layers: try map.required("n_layers").positiveInt(),
            heads: try map.required("n_heads").positiveInt(),
            dFF: try map.required("d_ff").positiveInt(),
            contextLength: try map.required("context_length").positiveInt())
    }

    private func validatedConfig(_ shape: ModelShape, node: StudyNode) throws -> ModelConfig {
        do {
            return try shape.modelConfig(vocabularySize: Vocabulary.size)
        } catch let error as ModelConfigError {
            let map = try node.mapping()
            let field: String
            switch error {
            case .notPositive(let f, _), .notPositiveReal(let f, _), .notForArchitecture(let f, _): field = f
            case .headsDoNotDivideModel, .oddHeadSize: field = "n_heads"
            case .kvHeadsDoNotDivideHeads: field = "n_kv_heads"
            case .wrongTensorShape: field = "d_model"
            }
            throw (map.optional(field) ?? node).error(.invalidValue, "\(error)")
        }
    }

    // MARK: Training, base, evaluation

    private func parseTraining(_ node: StudyNode) throws -> TrainingSettings {
        let map = try node.mapping()
        try map.rejectUnknownKeys(allowed: TrainingSettings.keys, context: node.keyPath)
        var settings = TrainingSettings(steps: try map.required("steps").positiveInt(),
                                        learningRate: try map.required("lr").positiveDouble(),
                                        batch: try map.required("batch").positiveInt())
        if let n = map.optional("warmup") {
            settings.warmup = try n.nonNegativeInt()
            if settings.warmup > settings.steps {
                throw n.error(.invalidValue, "warmup (\(settings.warmup)) must not exceed steps (\(settings.steps))")
            }
        }
        if let n = map.optional("schedule") {
            let s = try n.string()
            let known = TrainingSettings.Schedule.allCases.map(\.rawValue)
            guard let schedule = TrainingSettings.Schedule(rawValue: s) else {
                throw n.error(.invalidValue, "unknown schedule \"\(s)\"; known schedules: \(known.joined(separator: ", "))")
            }
            settings.schedule = schedule
        }
        if let n = map.optional("weight_decay") { settings.weightDecay = try n.nonNegativeDouble() }
        if let n = map.optional("max_grad_norm") {
            let v = try n.nonNegativeDouble()
            settings.maxGradNorm = v == 0 ? nil : v
        }
        return settings
    }

    private func parseBase(_ node: StudyNode) throws -> BaseModelSpec {
        let map = try node.mapping()
        try map.rejectUnknownKeys(allowed: BaseModelSpec.keys, context: "base")
        let skills = try parseTasks(try map.required("skills"), allowOverrides: false, warmup: 0)
        let sources = ["pretrain", "model", "checkpoint"].filter { map.optional($0) != nil }
        guard sources.count <= 1 else {
            throw map.optional(sources[1])!.error(.invalidValue, "give one of base.pretrain, base.model or base.checkpoint, not both \(sources.joined(separator: " and "))")
        }
        if let p = map.optional("pretrain") {
            return BaseModelSpec(source: .pretrain(try parseTraining(p)), skills: skills)
        }
        if let m = map.optional("model") {
            let name = try m.string()
            guard let known = KnownModel.named(name) else {
                throw m.error(.invalidValue, "unknown model \"\(name)\"; known models: \(KnownModel.all.map(\.name).joined(separator: ", ")) (or give base.checkpoint: a .gguf file or an HF folder)")
            }
            return BaseModelSpec(source: .pretrained(.known(known)), skills: skills)
        }
        if let c = map.optional("checkpoint") {
            let path = try nonEmptyName(c, allowSlash: true)
            let resolved = path.hasPrefix("/") ? path : URL(fileURLWithPath: workingDirectory).appendingPathComponent(path).path
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: resolved, isDirectory: &isFolder) else {
                throw c.error(.missingCheckpoint, "checkpoint file not found: \(resolved)")
            }
            if isFolder.boolValue {
                guard FileManager.default.fileExists(atPath: resolved + "/config.json") else {
                    throw c.error(.missingCheckpoint, "\(resolved) is a folder without config.json: not an HF checkpoint folder")
                }
                return BaseModelSpec(source: .pretrained(.folder(path: resolved)), skills: skills)
            }
            // A FIFO or device would block the first open(): only regular files are read.
            var kind = stat()
            guard stat(resolved, &kind) == 0, kind.st_mode & S_IFMT == S_IFREG else {
                throw c.error(.missingCheckpoint, "\(resolved) is not a regular file (a FIFO or a device?); give a .gguf file, an HF folder or a workbench base file")
            }
            if resolved.lowercased().hasSuffix(".gguf") {
                return BaseModelSpec(source: .pretrained(.gguf(path: resolved)), skills: skills)
            }
            if let problem = PartFile.problem(URL(fileURLWithPath: resolved), requireIdentity: false) {
                throw c.error(.missingCheckpoint, "\(resolved) is not a workbench base file (\(problem)); give a base file written by `workbench run`, a .gguf file or a Hugging Face LLaMA folder")
            }
            return BaseModelSpec(source: .checkpoint(path: resolved), skills: skills)
        }
        throw node.error(.missingKey, "missing `pretrain`, `model` or `checkpoint`: say how the base model is made",
                         keyPath: node.path("pretrain"))
    }

    private func parseStore(_ node: StudyNode) throws -> StorePolicy {
        let map = try node.mapping()
        try map.rejectUnknownKeys(allowed: StorePolicy.keys, context: "store")
        var policy = StorePolicy()
        if let n = map.optional("delta") {
            let value = try n.string()
            guard let delta = StorePolicy.Delta(rawValue: value) else {
                throw n.error(.invalidValue, "unknown store.delta \"\(value)\": one of \(StorePolicy.Delta.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            policy.delta = delta
        }
        if let n = map.optional("weights") {
            let value = try n.string()
            guard let weights = StorePolicy.Weights(rawValue: value) else {
                throw n.error(.invalidValue, "unknown store.weights \"\(value)\": one of \(StorePolicy.Weights.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            policy.weights = weights
        }
        if let n = map.optional("spectrum_k") {
            policy.spectrumK = try n.positiveInt()
            guard policy.spectrumK <= 4096 else { throw n.error(.invalidValue, "store.spectrum_k must be at most 4096") }
        }
        return policy
    }

    private func parseEvaluation(_ node: StudyNode) throws -> EvaluationSettings {
        let map = try node.mapping()
        try map.rejectUnknownKeys(allowed: EvaluationSettings.keys, context: "evaluation")
        var settings = EvaluationSettings()
        if let n = map.optional("test_size") { settings.testSize = try n.positiveInt() }
        if let n = map.optional("batch") { settings.batch = try n.positiveInt() }
        if let n = map.optional("greedy") { settings.greedy = try n.bool() }
        return settings
    }

    // MARK: Tasks and methods

    private func parseTasks(_ node: StudyNode, allowOverrides: Bool, warmup: Int) throws -> [TaskSpec] {
        let elements = try node.sequence()
        guard !elements.isEmpty else { throw node.error(.invalidValue, "must list at least one task") }
        var seen: [String: StudyNode] = [:]
        var tasks: [TaskSpec] = []
        for element in elements {
            let map = try element.mapping()
            let kindNode = try map.required("kind")
            let kind = try nonEmptyName(kindNode)
            let nameNode = map.optional("name")
            let name = try nameNode.map { try nonEmptyName($0) } ?? kind
            if let first = seen[name] {
                throw (nameNode ?? element).error(.duplicateName,
                    "task name \"\(name)\" is already used by \(first.keyPath) (line \(first.line ?? 0)); give each task a distinct `name`")
            }
            seen[name] = element
            var task = TaskSpec(name: name, kind: kind, keyPath: element.keyPath, line: element.line)
            for (key, value) in map.entries where key != "name" && key != "kind" {
                if TrainingOverrides.keys.contains(key) {
                    guard allowOverrides else {
                        throw value.error(.unknownKey, "`\(key)` is not allowed on a base skill: pretraining mixes all skills; set base.pretrain.\(key)")
                    }
                    switch key {
                    case "steps":
                        let steps = try value.positiveInt()
                        if steps < warmup { throw value.error(.invalidValue, "steps (\(steps)) is less than training.warmup (\(warmup))") }
                        task.overrides.steps = steps
                    case "lr": task.overrides.learningRate = try value.positiveDouble()
                    default: task.overrides.batch = try value.positiveInt()
                    }
                } else {
                    task.parameters[key] = try value.value()
                }
            }
            tasks.append(task)
        }
        return tasks
    }

    private func parseMethods(_ node: StudyNode, model: ModelConfig, warmup: Int) throws -> [MethodRun] {
        let elements = try node.sequence()
        guard !elements.isEmpty else { throw node.error(.invalidValue, "must list at least one method") }
        let parser = MethodEntryParser(catalog: catalog, model: model, warmup: warmup)
        var runs: [MethodRun] = []
        var labels: [String: String] = [:]
        for element in elements {
            for run in try parser.parse(element) {
                if let first = labels[run.label] {
                    throw element.error(.duplicateName,
                        "run label \"\(run.label)\" is already used by \(first); give this entry a distinct `label`")
                }
                labels[run.label] = run.keyPath
                runs.append(run)
            }
        }
        return runs
    }
}
