import Foundation

/// Which cells, tasks and matrices an analysis looks at. Empty sets select everything.
/// `matrices` entries match a matrix name that contains them (`attn.q`, `mlp`, `blocks.1.`)
/// or, when they are not plain substrings, as a whole-name regular expression.
public struct AnalysisFilter: Sendable, Equatable, Codable {
    public var methods: [String]
    public var labels: [String]
    public var seeds: [Int]
    public var tasks: [String]
    public var matrices: [String]

    public init(methods: [String] = [], labels: [String] = [], seeds: [Int] = [], tasks: [String] = [], matrices: [String] = []) {
        self.methods = methods; self.labels = labels; self.seeds = seeds; self.tasks = tasks; self.matrices = matrices
    }

    public func selects(_ cell: StudyResults.Cell) -> Bool {
        (methods.isEmpty || methods.contains(cell.method)) && (labels.isEmpty || labels.contains(cell.label))
            && (seeds.isEmpty || seeds.contains(cell.seed))
    }

    public func selects(task name: String) -> Bool { tasks.isEmpty || tasks.contains(name) }

    public func selects(matrix name: String) -> Bool {
        matrices.isEmpty || matrices.contains { pattern in
            name.contains(pattern) || (try? Regex(pattern).wholeMatch(in: name)) != nil
        }
    }

    /// The selected cells of `results`; throws `AnalysisError.nothingSelected` when none is left.
    public func cells(of results: StudyResults) throws -> [StudyResults.Cell] {
        let cells = results.cells.filter(selects)
        guard !cells.isEmpty else {
            throw AnalysisError.nothingSelected(
                path: results.url.path,
                filters: "\(description) (cells in the file: \(results.cells.map { "\($0.label)/seed\($0.seed)" }.joined(separator: ", ")))")
        }
        return cells
    }

    /// Checks that every named method, label, task and seed exists in `results`, so a typo is an
    /// error naming the valid choices rather than an empty table.
    public func validate(against results: StudyResults) throws {
        func check<T: Hashable & CustomStringConvertible>(_ name: String, _ given: [T], _ valid: [T]) throws {
            let validSet = Set(valid)
            if let bad = given.first(where: { !validSet.contains($0) }) {
                let choices = Array(Set(valid.map(\.description))).sorted().joined(separator: ", ")
                throw AnalysisError.invalidOption(name: name, value: bad.description, reason: "not in \(results.url.lastPathComponent) (choices: \(choices))")
            }
        }
        try check("method", methods, results.cells.map(\.method))
        try check("label", labels, results.cells.map(\.label))
        try check("seed", seeds, results.cells.map(\.seed))
        try check("task", tasks, results.taskNames)
        for pattern in matrices where !pattern.isEmpty {
            do { _ = try Regex(pattern) } catch {
                throw AnalysisError.invalidOption(name: "matrix", value: pattern, reason: "neither a substring nor a valid regular expression")
            }
        }
    }

    /// Canonical JSON (sorted keys): part of the key results are stored under.
    public var description: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// The selected cells whose training did not diverge (their ΔW holds NaN or ∞ and has no
    /// spectrum), and a note naming the ones left out (empty when none).
    public func cellsWithFiniteUpdates(of results: StudyResults) throws -> (cells: [StudyResults.Cell], note: [String]) {
        let all = try cells(of: results)
        let diverged = all.filter(\.diverged)
        let note = diverged.isEmpty ? [] : ["Left out, their training diverged (ΔW not finite): " + diverged.map { "\($0.label)/seed\($0.seed)" }.joined(separator: ", ") + "."]
        return (all.filter { !$0.diverged }, note)
    }

    /// The selected, finite cells that store a weight-space ΔW, and notes naming those left
    /// out (diverged; or a method with no ΔW: prompt, prefix, adapter, bitfit) — never a silent drop.
    ///
    /// - Throws: `AnalysisError.missing` when no selected cell has a ΔW, naming the selected
    ///   methods and the ones in the file that do have one.
    public func cellsWithDelta(of results: StudyResults) throws -> (cells: [StudyResults.Cell], notes: [String]) {
        let (finite, notes) = try cellsWithFiniteUpdates(of: results)
        var kept: [StudyResults.Cell] = [], without: [String] = []
        for cell in finite where cell.taskCount >= 1 {
            if try !results.deltaNames(cell, afterTask: 1).isEmpty { kept.append(cell) }
            else if !without.contains(cell.label) { without.append(cell.label) }
        }
        guard !kept.isEmpty else {
            let selected = Array(Set(finite.map(\.method))).sorted().joined(separator: ", ")
            var withDelta: [String] = []
            for cell in results.cells where cell.taskCount >= 1 && !withDelta.contains(cell.method) {
                if try !results.deltaNames(cell, afterTask: 1).isEmpty { withDelta.append(cell.method) }
            }
            throw AnalysisError.missing(
                path: results.url.path, object: "weight-space ΔW in any selected cell",
                hint: "\(selected.isEmpty ? "no cell selected" : selected) store no ΔW (prompt, prefix, adapter and bitfit have no weight-space form); methods with ΔW in this file: \(withDelta.isEmpty ? "none" : withDelta.joined(separator: ", "))")
        }
        return (kept, notes + (without.isEmpty ? [] : ["Left out, no weight-space ΔW: \(without.joined(separator: ", "))."]))
    }
}
