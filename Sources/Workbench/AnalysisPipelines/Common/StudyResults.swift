import Foundation
import PEFTEngine

/// A study results file (docs/hdf5-layout.md, "Study results") opened for analysis: the study
/// text it ran, its completed cells, and their stored tensors and accuracy matrices.
///
/// Read-only: analyses that store results write through `AnalysisStore`, which commits one
/// analysis file beside the parts.
public final class StudyResults {
    /// One completed cell: a method configuration fine-tuned for one seed.
    public struct Cell: Sendable, Equatable, Hashable {
        /// Group path, e.g. `runs/lora/seed0`.
        public var path: String
        public var label: String
        public var method: String
        public var fineTuningProtocol: FineTuningProtocol
        public var seed: Int
        /// The method configuration as JSON with sorted keys (the runner's encoding).
        public var configuration: String
        /// Number of tasks trained (rows of the accuracy matrix − 1).
        public var taskCount: Int
        public var trainableParameters: Int
        public var diverged: Bool
        /// The configuration's LoRA rank `r` (lora, rslora, qlora, dora), read from its JSON; nil for
        /// methods without one.
        public var rank: Int? {
            guard let object = try? JSONSerialization.jsonObject(with: Data(configuration.utf8)) as? [String: Any] else { return nil }
            return (object["r"] as? NSNumber)?.intValue
        }
    }

    public let url: URL
    /// The study parsed again from the stored `study_text`.
    public let study: Study
    /// Column names of every accuracy matrix: the base skills, then the tasks in order.
    public let columnNames: [String]
    /// `skill` or `task`, per column.
    public let columnKinds: [String]
    /// Completed cells in the study's cell order.
    public let cells: [Cell]
    /// Seeds with a stored base model.
    public let seeds: [Int]

    /// The index and the base and cell files, each checked before it is read.
    let parts: StudyParts
    /// ΔW rebuilt from factors for the last stage asked.
    private var rebuiltStage: (key: String, deltas: [String: Tensor])?
    /// A pretrained base's parameters (the same for every seed), read from its checkpoint once.
    private var pretrainedBase: (names: [String], model: TransformerModel)?
    /// The study resolved once (tasks built, a pretrained model's tokenizer opened) for every
    /// model this reader rebuilds.
    private var resolvedRunner: StudyRunner?

    func studyRunner() throws -> StudyRunner {
        if let resolvedRunner { return resolvedRunner }
        let runner = try StudyRunner(study: study, output: url, runtime: .current(requested: .inherit))
        resolvedRunner = runner
        return runner
    }
    /// The index's root (study text, plan).
    var root: HDF5Group { parts.root }
    /// The layout: where the parts and the stored analyses live.
    public var layout: ResultsLayout { parts.layout }

    public var skillNames: [String] { zip(columnNames, columnKinds).filter { $0.1 == "skill" }.map(\.0) }
    public var taskNames: [String] { zip(columnNames, columnKinds).filter { $0.1 == "task" }.map(\.0) }

    /// Opens the index at `url` and every completed cell, checking each file first.
    ///
    /// - Throws: `AnalysisError.notAStudyFile` for a file that is not a study's index (or an
    ///   earlier version's single file), `AnalysisError.damagedPart` for a base or cell whose
    ///   file fails its check, `StudyError` if the stored study text no longer parses.
    public init(url: URL) throws {
        self.url = url.standardizedFileURL
        let path = self.url.path
        parts = try StudyParts(index: self.url)
        let root = parts.root
        let text = try root.stringAttribute("study_text")
        let studyFile = try root.hasAttribute("study_file") ? try root.stringAttribute("study_file") : path
        study = try Study.parse(yaml: text, file: studyFile)
        guard case .strings(let names) = try root.attribute("column_names"),
              case .strings(let kinds) = try root.attribute("column_kinds"), names.count == kinds.count else {
            throw AnalysisError.notAStudyFile(path: path, reason: "column_names/column_kinds attributes missing or mismatched")
        }
        columnNames = names
        columnKinds = kinds
        var cells: [Cell] = []
        for cellPath in parts.cells.map(\.path) {
            guard let g = try parts.cell(cellPath) else { continue }
            let rows = try g.dataset("accuracy").readArray(as: Double.self).shape[0]
            cells.append(Cell(
                path: cellPath, label: try g.stringAttribute("label"), method: try g.stringAttribute("method"),
                fineTuningProtocol: try Self.protocolOf(g, cellPath, url: path), seed: Int(try g.integerAttribute("seed")),
                configuration: try g.stringAttribute("configuration"), taskCount: rows - 1,
                trainableParameters: Int(try g.integerAttribute("trainable_parameters")),
                diverged: try g.hasAttribute("diverged_at_step")))
        }
        self.cells = cells
        let parts = self.parts
        seeds = try study.seeds.filter { try parts.base(seed: $0) != nil }
    }

    deinit { parts.close() }

    /// The cell's protocol attribute as the enum; an unknown value is an error naming the cell.
    private static func protocolOf(_ group: HDF5Group, _ cellPath: String, url path: String) throws -> FineTuningProtocol {
        let text = try group.stringAttribute("protocol")
        guard let value = FineTuningProtocol(rawValue: text) else {
            throw AnalysisError.notAStudyFile(path: path, reason: "\(cellPath) has protocol \"\(text)\", not one of \(FineTuningProtocol.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    /// Closes the files now (also done on deinit).
    public func close() { parts.close() }

    /// The root of a completed cell's file.
    func group(_ cell: Cell) throws -> HDF5Group {
        guard let group = try parts.cell(cell.path) else {
            throw AnalysisError.missing(path: url.path, object: cell.path, hint: "the cell is not computed")
        }
        return group
    }

    /// The root of the base file of `seed`.
    func baseGroup(seed: Int) throws -> HDF5Group {
        guard let group = try parts.base(seed: seed) else {
            throw AnalysisError.missing(path: url.path, object: "/seed\(seed)/base", hint: "the base of seed \(seed) is not computed")
        }
        return group
    }

    /// Cells matching every given filter (nil = any).
    public func cells(method: String? = nil, label: String? = nil, seed: Int? = nil) -> [Cell] {
        cells.filter { cell in
            (method.map { $0 == cell.method } ?? true) && (label.map { $0 == cell.label } ?? true)
                && (seed.map { $0 == cell.seed } ?? true)
        }
    }

    /// The cell's exact-match accuracy matrix, rows = base + after each task, columns as `columnNames`.
    public func accuracy(_ cell: Cell) throws -> [[Double]] { try matrix(cell, "accuracy") }

    /// The cell's teacher-forced token accuracy matrix, same layout as `accuracy`.
    public func tokenAccuracy(_ cell: Cell) throws -> [[Double]] { try matrix(cell, "token_accuracy") }

    /// Every linear site of the study's model (GPT-2's six or LLaMA's seven per block).
    public func linearSites() throws -> [LinearSite] {
        LinearSite.all(try study.model.modelConfig(vocabularySize: Vocabulary.size))
    }

    /// The cell's per-column metric matrix (`ColumnMetric`: exact match, choice accuracy or mean
    /// NLL per column) and each column's direction; cells written before it existed give their
    /// exact-match matrix, every column higher-is-better.
    public func columnMetric(_ cell: Cell) throws -> (rows: [[Double]], metrics: [ColumnMetric]) {
        let g = try group(cell)
        guard try g.contains("metric") else {
            let rows = try accuracy(cell)
            return (rows, [ColumnMetric](repeating: .exactMatch, count: rows.first?.count ?? 0))
        }
        guard case .strings(let names) = try g.dataset("metric").attribute("column_metrics") else {
            throw AnalysisError.missing(path: url.path, object: "\(cell.path)/metric@column_metrics", hint: "the metric matrix has no column metrics")
        }
        let rows = try matrix(cell, "metric")
        let metrics = try names.map { name in
            guard let metric = ColumnMetric(rawValue: name) else {
                throw AnalysisError.missing(path: url.path, object: "\(cell.path)/metric@column_metrics", hint: "unknown metric \(name)")
            }
            return metric
        }
        return (rows, metrics)
    }

    /// The per-column metric matrix as scores: the value where higher is better, its negative
    /// where lower is (mean NLL), so every difference reads "positive = better".
    public func columnScores(_ cell: Cell) throws -> [[Double]] {
        let (rows, metrics) = try columnMetric(cell)
        return rows.map { row in row.enumerated().map { metrics[$0.offset].higherIsBetter ? $0.element : -$0.element } }
    }

    private func matrix(_ cell: Cell, _ name: String) throws -> [[Double]] {
        let array = try group(cell).dataset(name).readArray(as: Double.self)
        let columns = array.shape[1]
        return (0..<array.shape[0]).map { Array(array.values[$0 * columns..<($0 + 1) * columns]) }
    }

    /// Names of the stored ΔW matrices after task `t` (1-based), e.g. `blocks.0.attn.q.weight`;
    /// empty for methods without a weight-space form (prompt, prefix, adapter, bitfit).
    public func deltaNames(_ cell: Cell, afterTask t: Int) throws -> [String] {
        try DeltaStore.sites(of: try stage(cell, t)).sorted(by: Self.parameterOrder)
    }

    /// How ΔW is stored after task `t` (`StorePolicy.Delta`).
    public func deltaForm(_ cell: Cell, afterTask t: Int) throws -> StorePolicy.Delta {
        try DeltaStore.form(of: try stage(cell, t))
    }

    /// ΔW of `name` after task `t` (conventions per protocol: docs/hdf5-layout.md), whatever the
    /// cell's `store:` policy kept: read (dense, bfloat16) or rebuilt from the method's stored
    /// tensors (factors).
    /// - Throws: `AnalysisError.missing` when the cell has no ΔW there, or stored only its
    ///   spectrum or nothing, naming the `store:` setting that would keep it.
    public func delta(_ cell: Cell, afterTask t: Int, name: String) throws -> Tensor {
        let group = try stage(cell, t)
        let names = try DeltaStore.sites(of: group)
        guard names.contains(name) else {
            throw AnalysisError.missing(path: url.path, object: "\(cell.path)/after_task\(t) ΔW of \(name)",
                                        hint: "method \(cell.method) has ΔW for: \(names.joined(separator: ", "))")
        }
        let form = try DeltaStore.form(of: group)
        if let direct = try DeltaStore.readDirect(group, name: name) {
            // A damaged or foreign file can hold a ΔW of another shape than its weight.
            let expected = try baseWeight(seed: cell.seed, name: name).shape
            guard direct.shape == expected else {
                throw AnalysisError.missing(path: url.path, object: "\(cell.path)/after_task\(t) ΔW of \(name) with the shape of its weight \(expected)",
                                            hint: "the stored dataset has shape \(direct.shape); the file is damaged or not from this study")
            }
            return direct
        }
        switch form {
        case .factors:
            return try rebuiltDeltas(cell, afterTask: t)[name]!
        default:
            throw AnalysisError.missing(path: url.path, object: "\(cell.path)/after_task\(t) ΔW of \(name)",
                                        hint: "the study stored ΔW as `\(form.rawValue)`; this analysis needs the whole ΔW: run the study with \(DeltaStore.wholeDeltaSettings)")
        }
    }

    /// The stored singular values of ΔW (`store: {delta: spectrum}`), nil under other forms.
    public func deltaSingularValues(_ cell: Cell, afterTask t: Int, name: String) throws -> [Float]? {
        try storedSpectrum(cell, afterTask: t, name: name)?.singularValues
    }

    /// The stored spectrum of ΔW with its shape (`store: {delta: spectrum}`), nil under other forms.
    public func storedSpectrum(_ cell: Cell, afterTask t: Int, name: String) throws -> (singularValues: [Float], rows: Int, columns: Int)? {
        let group = try stage(cell, t)
        guard try DeltaStore.form(of: group) == .spectrum else { return nil }
        let sigma = try group.readArray("delta_svd/\(name)/singular_values", as: Float.self).values
        let rows = try group.readArray("delta_svd/\(name)/u", as: Float.self).shape[0]
        let columns = try group.readArray("delta_svd/\(name)/v", as: Float.self).shape[0]
        return (sigma, rows, columns)
    }

    /// ΔW of every site of one stage, rebuilt from the method's stored tensors: a model with the
    /// base weights, the cell's method attached, its tensors loaded, `delta(for:)` asked. Kept for
    /// the last stage asked (analyses walk one stage at a time).
    func rebuiltDeltas(_ cell: Cell, afterTask t: Int) throws -> [String: Tensor] {
        if let cached = rebuiltStage, cached.key == "\(cell.path)#\(t)" { return cached.deltas }
        guard let run = study.runs.first(where: { $0.label == cell.label }) else {
            throw AnalysisError.missing(path: url.path, object: cell.path, hint: "the stored study has no configuration labelled \(cell.label)")
        }
        let runner = try studyRunner()
        let model = runner.makeModel()
        try loadBase(seed: cell.seed, into: model, runner: runner)
        let method = run.configuration.makeMethod()
        var rng = SeededRNG(seed: 0)
        try method.attach(to: model, rng: &rng)
        let stored = try stage(cell, t)
        for name in method.parameters.names {
            do {
                try method.parameters.load(named: name, from: try stored.readTensor("trainable/method/\(name)"))
            } catch let error as HDF5Error {
                throw AnalysisError.missing(path: url.path, object: "\(cell.path)/after_task\(t)/trainable/method/\(name)", hint: error.detail)
            }
        }
        var deltas: [String: Tensor] = [:]
        for site in LinearSite.all(runner.config) {
            if let delta = method.delta(for: site, model: model) { deltas[site.weightName] = delta }
        }
        rebuiltStage = ("\(cell.path)#\(t)", deltas)
        return deltas
    }

    /// Base parameters the method trained, as stored after task `t` (every parameter for `full`).
    public func trainedBaseNames(_ cell: Cell, afterTask t: Int) throws -> [String] {
        let group = try stage(cell, t)
        guard try group.contains("trainable/base") else { return [] }
        return try group.group("trainable/base").children()
    }

    /// A trained base parameter after task `t`.
    public func trainedBase(_ cell: Cell, afterTask t: Int, name: String) throws -> Tensor {
        try stage(cell, t).readTensor("trainable/base/\(name)")
    }

    /// The method's own tensors after task `t` (e.g. `blocks.0.attn.q.lora_A`).
    public func methodTensorNames(_ cell: Cell, afterTask t: Int) throws -> [String] {
        let group = try stage(cell, t)
        guard try group.contains("trainable/method") else { return [] }
        return try group.group("trainable/method").children()
    }

    public func methodTensor(_ cell: Cell, afterTask t: Int, name: String) throws -> Tensor {
        try stage(cell, t).readTensor("trainable/method/\(name)")
    }

    /// The base of `seed` into `model`: its stored weights, or a pretrained base's checkpoint.
    func loadBase(seed: Int, into model: TransformerModel, runner: StudyRunner) throws {
        if runner.resolved.checkpoint != nil {
            _ = try baseGroup(seed: seed)
            try runner.pretrainedWeights().withUnsafeBufferPointer { model.parameters.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
        } else {
            try runner.loadWeights(into: model, from: try baseGroup(seed: seed).group("weights"), source: url.path)
        }
    }

    /// The pretrained base's parameters, loaded once (nil for a pretrained-here or HDF5 base).
    private func pretrainedParameters() throws -> (names: [String], model: TransformerModel)? {
        guard study.base.pretrained != nil else { return nil }
        if let pretrainedBase { return pretrainedBase }
        let runner = try studyRunner()
        let model = TransformerModel(config: runner.config, maxB: 1, maxT: 1)
        try runner.pretrainedWeights().withUnsafeBufferPointer { model.parameters.values.pointer.update(from: $0.baseAddress!, count: $0.count) }
        pretrainedBase = (model.parameters.names, model)
        return pretrainedBase
    }

    /// A base-model parameter of `seed` (W0), e.g. `blocks.0.attn.q.weight`.
    public func baseWeight(seed: Int, name: String) throws -> Tensor {
        if let pretrained = try pretrainedParameters() {
            _ = try baseGroup(seed: seed)
            guard pretrained.names.contains(name) else {
                throw AnalysisError.missing(path: url.path, object: "base parameter \(name)", hint: "no such parameter in the pretrained base")
            }
            return pretrained.model.parameters.tensor(named: name)
        }
        let base = try baseGroup(seed: seed)
        guard try base.contains("weights/\(name)") else {
            throw AnalysisError.missing(path: url.path, object: "/seed\(seed)/base/weights/\(name)", hint: "no such parameter in the base of seed \(seed)")
        }
        return try base.readTensor("weights/\(name)")
    }

    /// Every base-model parameter name of `seed`, in the engine's parameter order.
    public func baseWeightNames(seed: Int) throws -> [String] {
        if let pretrained = try pretrainedParameters() { return pretrained.names }
        return try baseGroup(seed: seed).group("weights").children().sorted(by: Self.parameterOrder)
    }

    private func stage(_ cell: Cell, _ t: Int) throws -> HDF5Group {
        guard t >= 1 && t <= cell.taskCount else {
            throw AnalysisError.missing(path: url.path, object: "\(cell.path)/after_task\(t)",
                                        hint: "the cell trained \(cell.taskCount) task(s)")
        }
        return try group(cell).group("after_task\(t)")
    }

    /// Orders parameter names as the engine does for blocks (`blocks.10` after `blocks.9`),
    /// otherwise alphabetically.
    static func parameterOrder(_ a: String, _ b: String) -> Bool {
        a.compare(b, options: .numeric) == .orderedAscending
    }
}
