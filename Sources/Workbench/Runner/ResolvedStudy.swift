import PEFTEngine

/// A study with every task built and every check that needs no training done: the runner's
/// input. Building it is the "validation before any training" step of `workbench run`.
///
/// Checks, each reported as a `StudyError` naming the study file, key path and line:
/// - every task and base skill kind exists and its parameters are valid (`TaskCatalog`);
/// - every user data file (`path` of a jsonl or text task) can be read and parsed (reported at `tasks[i].path`);
/// - every test example fits in the context length;
/// - runs with `protocol: merge` use a method that can merge into the weights;
/// - with a pretrained base: its checkpoint and tokenizer open (a known model is fetched here,
///   once), every task tokenizes through it, and `chat: true` tasks are wrapped in its ChatML
///   template (`ChatTask`).
public struct ResolvedStudy {
    /// One column of the accuracy matrix: a base skill or a fine-tuning task.
    public struct Column {
        public enum Kind: String, Sendable { case skill, task }
        public var kind: Kind
        public var name: String
        public var spec: TaskSpec
        public var task: any Task
        /// Number of test examples evaluated: min(evaluation.test_size, the task's test split).
        public var testCount: Int
        /// What its column of the metric matrix holds: the task's own metric, or the greedy
        /// answer's exact match for answer tasks under `evaluation.greedy`.
        public var metric: ColumnMetric
        /// Whether its evaluation also decodes greedily.
        public var decodesGreedily: Bool { metric == .greedyExactMatch }
    }

    public var study: Study
    public var config: ModelConfig
    /// Base skills first, then fine-tuning tasks (the accuracy matrix's column order).
    public var columns: [Column]
    /// The base pretraining mixture of every skill.
    public var skillMixture: MixtureTask
    /// Largest batch any phase uses: the model's maxB.
    public var maxBatch: Int
    /// How task text becomes token ids: the character vocabulary, or the pretrained base's BPE.
    public var tokenizer: any TaskTokenizer
    /// The pretrained base's checkpoint (weights read when the base is built), if any.
    public var checkpoint: LlamaCheckpoint?
    /// The pretrained base's ChatML template, if it has one.
    public var chatTemplate: ChatTemplate?

    public var skills: [Column] { columns.filter { $0.kind == .skill } }
    public var tasks: [Column] { columns.filter { $0.kind == .task } }

    public init(_ study: Study, log: (String) -> Void = { _ in }) throws {
        self.study = study
        func fail(_ spec: TaskSpec, _ suffix: String, _ message: String, kind: StudyError.Kind = .invalidValue) -> StudyError {
            StudyError(kind: kind, file: study.file, keyPath: spec.keyPath + suffix, line: spec.line,
                       column: spec.line.flatMap { Self.column(in: study.text, line: $0, key: suffix.isEmpty ? nil : String(suffix.dropFirst()) + ":") },
                       message: message)
        }
        do {
            config = try study.model.modelConfig(vocabularySize: Vocabulary.size)
        } catch {
            throw StudyError(kind: .invalidValue, file: study.file, keyPath: "model", line: nil, column: nil, message: "\(error)")
        }
        var chatTemplate: ChatTemplate?
        if let pretrained = study.base.pretrained {
            do {
                let opened = try pretrained.open(log: log)
                checkpoint = opened.checkpoint
                tokenizer = opened.tokenizer
                chatTemplate = opened.chatTemplate
            } catch {
                throw StudyError(kind: .missingCheckpoint, file: study.file, keyPath: "base", line: nil, column: nil,
                                 message: "cannot open the base model \(pretrained.label): \(error)")
            }
            guard tokenizer.vocabularySize == config.vocabSize else {
                throw StudyError(kind: .invalidValue, file: study.file, keyPath: "base", line: nil, column: nil,
                                 message: "the base model's tokenizer has \(tokenizer.vocabularySize) tokens but its embedding \(config.vocabSize) rows")
            }
        } else {
            checkpoint = nil
            tokenizer = Vocabulary()
        }
        var columns: [Column] = []
        let specs = study.base.skills.map { (Column.Kind.skill, $0) } + study.tasks.map { (Column.Kind.task, $0) }
        for (kind, spec) in specs {
            var task: any Task
            var parameters = spec.parameters
            let chat = parameters.removeValue(forKey: "chat")
            do {
                task = try TaskCatalog.make(kind: spec.kind, parameters: parameters.mapValues(Self.taskParameter),
                                            relativeTo: nil, tokenizer: tokenizer, log: log)
            } catch let error as TaskCatalogError {
                if case .unknownKind = error { throw fail(spec, ".kind", error.description) }
                throw fail(spec, "", error.description)
            } catch let error as TaskDataError {
                throw fail(spec, ".path", "data file \(error)")
            } catch {
                throw fail(spec, "", "\(error)")
            }
            if let chat {
                guard case .bool(let on) = chat else { throw fail(spec, ".chat", "chat must be true or false") }
                if on {
                    guard let chatTemplate else {
                        throw fail(spec, ".chat", study.base.pretrained == nil
                                   ? "chat: true needs a pretrained base with a chat template (base.model or base.checkpoint)"
                                   : "the base model has no ChatML chat template (tokenizer.chat_template with <|im_start|>)")
                    }
                    task = ChatTask(task, template: chatTemplate)
                }
            }
            let count = min(study.evaluation.testSize, task.testSize)
            let greedy = study.evaluation.greedy && task.primaryMetric == .exactMatch
            columns.append(Column(kind: kind, name: spec.name, spec: spec, task: task, testCount: count,
                                  metric: greedy ? .greedyExactMatch : task.primaryMetric))
        }
        // Every test example must fit the context (a precondition of the model otherwise); the
        // longest, per column, also serves the soft-prompt check below.
        var longestTest: [Int] = []
        for column in columns {
            let examples = column.task.examples(split: .test, count: column.testCount, seed: UInt64(study.seeds.first ?? 0))
            do {
                longestTest.append(try Batcher(task: column.task, examples: examples.flatMap(Self.scoredRows), batchSize: 1,
                                               contextLength: config.contextLength, tokenizer: tokenizer).sequenceLength)
            } catch {
                throw fail(column.spec, "", "\(error)")
            }
        }
        // Training records too (user data, corpora): a record longer than the context would
        // otherwise stop a cell after the base and earlier cells had trained.
        var longestTraining: [Int: Int] = [:]
        for (c, column) in columns.enumerated() where column.kind == .task {
            guard let records = column.task.trainingRecords, !records.isEmpty else { continue }
            do {
                longestTraining[c] = try Batcher(task: column.task, examples: records, batchSize: 1,
                                                 contextLength: config.contextLength, tokenizer: tokenizer).sequenceLength
            } catch {
                throw fail(column.spec, "", "training data: \(error)")
            }
        }
        // A soft prompt takes positions from the context: every column it is evaluated on, and
        // every task it trains, must fit what is left.
        for run in study.runs where run.configuration.contextPositionsUsed > 0 {
            let P = run.configuration.contextPositionsUsed, left = config.contextLength - P
            for (c, column) in columns.enumerated() {
                let needed = max(longestTest[c], longestTraining[c] ?? 0)
                if needed > left {
                    throw StudyError(kind: .invalidConfiguration, file: study.file, keyPath: run.keyPath + ".num_virtual_tokens", line: run.line, column: nil,
                                     message: "\(run.label): \(P) virtual tokens leave \(left) of the \(config.contextLength) positions, but \(column.kind.rawValue) \(column.name) needs \(needed); lower num_virtual_tokens or raise context_length")
                }
            }
        }
        // The runner builds every model with room for a prefix as long as the context.
        for run in study.runs where run.configuration.prefixPositions > config.contextLength {
            throw StudyError(kind: .invalidConfiguration, file: study.file, keyPath: run.keyPath + ".num_virtual_tokens", line: run.line, column: nil,
                             message: "\(run.label): \(run.configuration.prefixPositions) prefix positions exceed context_length \(config.contextLength), the most the runner's models hold; lower num_virtual_tokens or raise context_length")
        }
        for run in study.runs where run.fineTuningProtocol == .merge {
            let method = run.configuration.makeMethod()
            if !method.canMerge {
                throw StudyError(kind: .invalidConfiguration, file: study.file, keyPath: run.keyPath + ".protocol", line: run.line, column: nil,
                                 message: "\(run.methodName) cannot be merged into the base weights (it has no weight-space form); use protocol sequential or per-task")
            }
        }
        self.columns = columns
        self.chatTemplate = chatTemplate
        skillMixture = MixtureTask(components: columns.filter { $0.kind == .skill }.map(\.task))
        var batches = [study.evaluation.batch, study.training.batch]
        if case .pretrain(let settings) = study.base.source { batches.append(settings.batch) }
        for run in study.runs {
            for spec in study.tasks { batches.append(run.training(for: spec, defaults: study.training).batch) }
        }
        maxBatch = batches.max()!
    }

    /// The rows an example becomes when scored: one per choice of a multiple-choice item.
    static func scoredRows(_ example: Example) -> [Example] {
        example.choices.isEmpty ? [example] : example.choices.map { Example(prompt: example.prompt, answer: $0, endsWithMarker: false) }
    }

    /// 1-based column on `line` of `text`: of the value after `key` when given and present,
    /// else of the line's first character that is not blank or a list dash (TaskSpec keeps
    /// only the line of an entry).
    static func column(in text: String, line: Int, key: String?) -> Int? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return nil }
        let row = Array(lines[line - 1])
        if let key, let range = String(row).range(of: key) {
            var i = String(row).distance(from: String(row).startIndex, to: range.upperBound)
            while i < row.count, row[i] == " " { i += 1 }
            return i + 1
        }
        return row.firstIndex { $0 != " " && $0 != "-" }.map { $0 + 1 }
    }

    /// The task catalog's parameter for a study value (the two enums map one to one).
    static func taskParameter(_ value: StudyValue) -> TaskParameter {
        switch value {
        case .int(let v): .int(v)
        case .double(let v): .double(v)
        case .string(let v): .string(v)
        case .bool(let v): .bool(v)
        case .strings(let v): .strings(v)
        case .ints(let v): .strings(v.map(String.init))   // no task takes a list of integers: its check names the key
        }
    }
}
