import Foundation

/// The end-of-study table, read back from a results file: one row per method configuration.
///
/// From each cell's accuracy matrix R (exact match; row 0 = base, row t = after task t, task
/// columns in training order):
/// - just trained = mean over tasks j of R[j, j], each task's accuracy right after it was
///   trained (not `ContinualMetrics.learned`, which is the gain R[j][j] − R[0][j]);
/// - final task accuracy = mean over tasks j of R[T, j] (just trained − final is what later
///   tasks took away, averaged over all T tasks; the last one loses nothing by definition);
/// - base-skill retention = mean over skills k with R[0, k] > 0 of R[T, k] / R[0, k]
///   (1 = nothing forgotten; skills the base never solved are left out, nil if none);
/// both averaged over the configuration's completed seeds; wall time summed over them.
public enum StudySummary {
    public struct Row: Sendable, Equatable {
        public var label: String
        public var method: String
        public var seeds: Int
        public var justTrainedAccuracy: Double
        public var finalTaskAccuracy: Double
        public var baseSkillRetention: Double?
        public var wallTime: Double
        /// Seeds whose training diverged.
        public var diverged: Int
    }

    /// One cell's figures from its accuracy matrix `r`, [rows, columns] row-major, whose columns
    /// are of the given kinds ("skill" or "task"): learned, final task accuracy and base-skill
    /// retention (nil when the base solved no skill); nil when the matrix's shape does not fit
    /// its column kinds (one row per task plus the base row).
    public static func cellFigures(_ r: [Double], rows: Int, kinds: [String]) -> (justTrained: Double, final: Double, retention: Double?)? {
        let cols = kinds.count
        let taskColumns = (0..<cols).filter { kinds[$0] == "task" }
        guard rows >= 1, r.count == rows * cols, rows == taskColumns.count + 1 else { return nil }
        let last = (rows - 1) * cols
        let count = Double(max(taskColumns.count, 1))
        let justTrained = taskColumns.enumerated().reduce(0) { $0 + r[($1.offset + 1) * cols + $1.element] } / count
        let final = taskColumns.reduce(0) { $0 + r[last + $1] } / count
        let skills = (0..<cols).filter { kinds[$0] == "skill" && r[$0] > 0 }
        let retention = skills.isEmpty ? nil : skills.reduce(0) { $0 + r[last + $1] / r[$1] } / Double(skills.count)
        return (justTrained, final, retention)
    }

    /// Rows for every configuration with at least one completed cell, in the file's cell order.
    public static func read(from url: URL) throws -> [Row] {
        let parts: StudyParts
        do {
            parts = try StudyParts(index: url)
        } catch let error as AnalysisError {
            throw RunnerError.io(path: url.path, detail: error.description)
        }
        defer { parts.close() }
        var order: [String] = []
        var byRun: [String: [(accuracy: HDF5Array<Double>, kinds: [String], group: HDF5Group)]] = [:]
        for path in parts.cells.map(\.path) {
            let found: HDF5Group?
            do { found = try parts.cell(path) } catch let error as AnalysisError { throw RunnerError.io(path: url.path, detail: error.description) }
            guard let group = found else { continue }
            let runPath = String(path[..<path.lastIndex(of: "/")!])
            let dataset = try group.dataset("accuracy")
            guard case .strings(let kinds) = try dataset.attribute("column_kinds") else { continue }
            if byRun[runPath] == nil { order.append(runPath) }
            byRun[runPath, default: []].append((try dataset.readArray(as: Double.self), kinds, group))
        }
        return try order.map { runPath in
            let cells = byRun[runPath]!
            var justTrained = 0.0, final = 0.0, retention = 0.0, retained = 0, wall = 0.0, diverged = 0
            for cell in cells {
                guard let figures = cellFigures(cell.accuracy.values, rows: cell.accuracy.shape[0], kinds: cell.kinds) else {
                    throw RunnerError.io(path: url.path, detail: "\(runPath): accuracy matrix of shape \(cell.accuracy.shape) does not match its \(cell.kinds.count) column kinds")
                }
                justTrained += figures.justTrained
                final += figures.final
                if let r = figures.retention {
                    retention += r
                    retained += 1
                }
                wall += try cell.group.doubleAttribute("wall_time")
                if try cell.group.hasAttribute("diverged_at_step") { diverged += 1 }
            }
            let first = cells[0].group
            return Row(label: try first.stringAttribute("label"), method: try first.stringAttribute("method"),
                       seeds: cells.count, justTrainedAccuracy: justTrained / Double(cells.count),
                       finalTaskAccuracy: final / Double(cells.count),
                       baseSkillRetention: retained > 0 ? retention / Double(retained) : nil,
                       wallTime: wall, diverged: diverged)
        }
    }
}
