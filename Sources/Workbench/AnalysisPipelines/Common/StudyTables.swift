import Foundation

/// The tidy tables read straight from a study's results (no computation): one row per cell,
/// one row per evaluation (cell × stage × column), one row per training step.
extension StudyResults {
    /// `cells`: one row per completed cell (method configuration × seed).
    public func cellTable(filter: AnalysisFilter = AnalysisFilter()) throws -> TidyTable {
        var table = TidyTable(name: "cells", summary: "one row per completed cell (method configuration × seed)", columns: [
            .init("label", "configuration label from the study (method name, plus swept values)"),
            .init("method", "fine-tuning method (full, lora, qlora, dora, adapter, prefix, prompt, ia3, bitfit)"),
            .init("protocol", "sequential, per-task or merge"),
            .init("seed", "seed of the base model, data and method initialisation"),
            .init("configuration", "the method's configuration as JSON (peft field names)"),
            .init("trainable_parameters", "number of trainable parameters"),
            .init("memory_total_bytes", "trainable weights + gradients + optimizer state + frozen weights, bytes"),
            .init("training_tokens", "tokens seen in fine-tuning, all tasks"),
            .init("tokens_per_second", "fine-tuning throughput"),
            .init("wall_time", "seconds for the whole cell (training and evaluation)"),
            .init("diverged_at_step", "global step at which the loss became non-finite; empty if never"),
        ])
        for cell in cells where filter.selects(cell) {
            let g = try group(cell)
            table.append([
                .text(cell.label), .text(cell.method), .text(cell.fineTuningProtocol.rawValue), .integer(cell.seed),
                .text(cell.configuration), .integer(cell.trainableParameters),
                .integer(Int(try g.integerAttribute("memory_total_bytes"))), .integer(Int(try g.integerAttribute("training_tokens"))),
                .number(try g.doubleAttribute("tokens_per_second")), .number(try g.doubleAttribute("wall_time")),
                try g.hasAttribute("diverged_at_step") ? .integer(Int(try g.integerAttribute("diverged_at_step"))) : .missing,
            ])
        }
        return table
    }

    /// `evaluation`: one row per cell × stage (base, after each task) × evaluated column.
    public func evaluationTable(filter: AnalysisFilter = AnalysisFilter()) throws -> TidyTable {
        var table = TidyTable(name: "evaluation", summary: "one row per cell × stage × evaluated skill or task", columns: [
            .init("label", "configuration label"), .init("method", "fine-tuning method"), .init("seed", "seed"),
            .init("stage", "0 for the base (before fine-tuning), t after task t"),
            .init("task", "the task just trained; empty for the base"),
            .init("column", "the skill or task evaluated"), .init("column_kind", "skill (pre-training) or task (fine-tuning sequence)"),
            .init("exact_match", "fraction of test examples whose whole answer is right (teacher-forced)"),
            .init("token_accuracy", "fraction of answer tokens predicted right (teacher-forced)"),
            .init("loss", "mean cross-entropy per answer token, nats"),
            .init("examples", "number of test examples"),
            .init("metric", "the column's own measure: exact_match, greedy_exact_match, choice_accuracy or mean_nll"),
            .init("metric_value", "its value (mean_nll: nats per token)"),
            .init("direction", "higher or lower is better"),
            .init("choice_accuracy", "multiple-choice probes: the answer has the highest summed log-probability; empty otherwise"),
            .init("greedy_exact_match", "the greedily decoded answer is exactly right (evaluation.greedy); empty otherwise"),
            .init("kl_from_base", "running text: mean KL(base ‖ this model) of the next-token distributions, nats; empty otherwise"),
        ])
        let tasks = taskNames
        func optional(_ x: Double?) -> TidyTable.Value { x.map(TidyTable.Value.number) ?? .missing }
        for cell in cells where filter.selects(cell) {
            let columnMetrics = try columnMetric(cell).metrics
            for stage in 0...cell.taskCount {
                let stageName = stage == 0 ? "base" : tasks[stage - 1]
                guard stage == 0 || filter.selects(task: stageName) else { continue }
                let group = stage == 0 ? try baseGroup(seed: cell.seed) : try self.group(cell).group("after_task\(stage)")
                for (c, (name, kind)) in zip(columnNames, columnKinds).enumerated() {
                    let metrics = try TaskMetrics(readFrom: group.group("eval/\(kind == "skill" ? "skills" : "tasks")/\(StudyRunner.groupName(name))"))
                    let metric = columnMetrics[c]
                    table.append([
                        .text(cell.label), .text(cell.method), .integer(cell.seed), .integer(stage), stage == 0 ? .missing : .text(stageName),
                        .text(name), .text(kind), .number(metrics.exactMatch), .number(metrics.tokenAccuracy),
                        .number(metrics.meanLoss), .integer(metrics.exampleCount),
                        .text(metric.rawValue), .number(metric.value(metrics)), .text(metric.direction),
                        optional(metrics.choiceAccuracy), optional(metrics.greedyExactMatch), optional(metrics.klFromBase),
                    ])
                }
            }
        }
        return table
    }

    /// `training_loss`: one row per optimizer step, of every base pretraining and every cell's tasks.
    public func trainingLossTable(filter: AnalysisFilter = AnalysisFilter()) throws -> TidyTable {
        var table = TidyTable(name: "training_loss", summary: "one row per optimizer step (base pretraining: label 'base')", columns: [
            .init("label", "configuration label, or 'base' for pretraining"), .init("method", "fine-tuning method, or 'pretrain'"),
            .init("seed", "seed"), .init("stage", "t while training task t; 0 for the base's pretraining"),
            .init("task", "the task being trained; empty for pretraining"),
            .init("step", "step within the stage, from 0"), .init("loss", "training loss of the step's batch, nats per answer token"),
        ])
        func append(_ label: String, _ method: String, _ seed: Int, _ stage: Int, _ task: String, _ losses: [Float]) {
            for (i, loss) in losses.enumerated() {
                table.append([.text(label), .text(method), .integer(seed), .integer(stage), task.isEmpty ? .missing : .text(task),
                              .integer(i), .number(Double(loss))])
            }
        }
        if filter.methods.isEmpty && filter.labels.isEmpty {
            for seed in seeds where filter.seeds.isEmpty || filter.seeds.contains(seed) {
                append("base", "pretrain", seed, 0, "", try baseGroup(seed: seed).readArray("loss", as: Float.self).values)
            }
        }
        let tasks = taskNames
        for cell in cells where filter.selects(cell) {
            for t in 1...max(cell.taskCount, 1) where t <= cell.taskCount && filter.selects(task: tasks[t - 1]) {
                append(cell.label, cell.method, cell.seed, t, tasks[t - 1],
                       try group(cell).readArray("after_task\(t)/loss", as: Float.self).values)
            }
        }
        return table
    }

    /// The parameters of the most recently stored result of each analysis (`AnalysisStore`)
    /// that is still valid for the file's parts.
    public func latestStoredAnalyses() -> [String: String] {
        var latest: [String: (date: Date, parameters: String)] = [:]
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: layout.analysisFolder.path)) ?? []).sorted() where name.hasSuffix(".h5") {
            let url = layout.analysisFolder.appendingPathComponent(name)
            guard PartFile.problem(url, requireIdentity: false) == nil, let file = try? HDF5File.open(url) else { continue }
            defer { try? file.close() }
            guard let root = try? file.root(), AnalysisStore.isCurrentFormat(root), let analysis = try? root.stringAttribute("analysis"),
                  let parameters = try? root.stringAttribute("parameters") else { continue }
            let date = ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date) ?? .distantPast
            if latest[analysis].map({ date > $0.date }) ?? true { latest[analysis] = (date, parameters) }
        }
        return latest.mapValues(\.parameters)
    }

    /// Every table stored by any analysis command (`AnalysisStore`), one per name: when an
    /// analysis is stored for several parameter sets, the most recently computed one. Each
    /// table gains an `analysis_options` column holding the analysis's filter and options
    /// (canonical JSON), so the file itself says what it holds and its name stays the table's.
    public func storedAnalysisTables() throws -> [TidyTable] {
        let latest = latestStoredAnalyses()
        var tables: [TidyTable] = []
        for analysis in latest.keys.sorted() {
            let parameters = latest[analysis]!
            for var table in try AnalysisStore.cached(self, analysis: analysis, parameters: parameters) ?? [] {
                table.summary += " (workbench \(analysis))"
                table.columns.append(.init("analysis_options", "the filter and options `workbench \(analysis)` was run with (JSON)"))
                table.rows = table.rows.map { $0 + [.text(parameters)] }
                tables.append(table)
            }
        }
        return tables
    }
}
