import Foundation

/// The end-of-study table, read back from a results file: one row per method configuration.
///
/// From each cell's accuracy matrix R (exact match; row 0 = base, row t = after task t, task
/// columns in training order):
/// - learned = mean over tasks j of R[j, j], each task's accuracy right after it was trained;
/// - final task accuracy = mean over tasks j of R[T, j] (learned − final is what later tasks
///   took away: the Avalanche forgetting, averaged over every task including the last);
/// - base-skill retention = mean over skills k with R[0, k] > 0 of R[T, k] / R[0, k]
///   (1 = nothing forgotten; skills the base never solved are left out, nil if none);
/// both averaged over the configuration's completed seeds; wall time summed over them.
public enum StudySummary {
    public struct Row: Sendable, Equatable {
        public var label: String
        public var method: String
        public var seeds: Int
        public var learnedAccuracy: Double
        public var finalTaskAccuracy: Double
        public var baseSkillRetention: Double?
        public var wallTime: Double
        /// Seeds whose training diverged.
        public var diverged: Int
    }

    /// One cell's figures from its accuracy matrix `r`, [rows, columns] row-major, whose columns
    /// are of the given kinds ("skill" or "task"): learned, final task accuracy and base-skill
    /// retention (nil when the base solved no skill).
    public static func cellFigures(_ r: [Double], rows: Int, kinds: [String]) -> (learned: Double, final: Double, retention: Double?) {
        let cols = kinds.count
        precondition(r.count == rows * cols, "accuracy matrix has \(r.count) entries, \(rows) × \(cols) expected")
        let last = (rows - 1) * cols
        let taskColumns = (0..<cols).filter { kinds[$0] == "task" }
        precondition(rows == taskColumns.count + 1, "accuracy matrix has \(rows) rows for \(taskColumns.count) tasks")
        let count = Double(max(taskColumns.count, 1))
        let learned = taskColumns.enumerated().reduce(0) { $0 + r[($1.offset + 1) * cols + $1.element] } / count
        let final = taskColumns.reduce(0) { $0 + r[last + $1] } / count
        let skills = (0..<cols).filter { kinds[$0] == "skill" && r[$0] > 0 }
        let retention = skills.isEmpty ? nil : skills.reduce(0) { $0 + r[last + $1] / r[$1] } / Double(skills.count)
        return (learned, final, retention)
    }

    /// Rows for every configuration with at least one completed cell, in the file's cell order.
    public static func read(from url: URL) throws -> [Row] {
        let file = try HDF5File.open(url)
        defer { try? file.close() }
        let root = try file.root()
        guard case .strings(let paths) = try root.attribute("cell_paths") else { return [] }
        var order: [String] = []
        var byRun: [String: [(accuracy: HDF5Array<Double>, kinds: [String], group: HDF5Group)]] = [:]
        for path in paths where try root.contains(path) {
            let runPath = String(path[..<path.lastIndex(of: "/")!])
            let group = try root.group(path)
            let dataset = try group.dataset("accuracy")
            guard case .strings(let kinds) = try dataset.attribute("column_kinds") else { continue }
            if byRun[runPath] == nil { order.append(runPath) }
            byRun[runPath, default: []].append((try dataset.readArray(as: Double.self), kinds, group))
        }
        return try order.map { runPath in
            let cells = byRun[runPath]!
            var learned = 0.0, final = 0.0, retention = 0.0, retained = 0, wall = 0.0, diverged = 0
            for cell in cells {
                let figures = cellFigures(cell.accuracy.values, rows: cell.accuracy.shape[0], kinds: cell.kinds)
                learned += figures.learned
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
                       seeds: cells.count, learnedAccuracy: learned / Double(cells.count),
                       finalTaskAccuracy: final / Double(cells.count),
                       baseSkillRetention: retained > 0 ? retention / Double(retained) : nil,
                       wallTime: wall, diverged: diverged)
        }
    }
}
