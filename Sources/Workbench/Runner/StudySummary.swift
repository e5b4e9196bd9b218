import Foundation

/// The end-of-study table, read back from a results file: one row per method configuration.
///
/// From each cell's accuracy matrix R (exact match; row 0 = base, row T = after the last task):
/// - final task accuracy = mean over tasks j of R[T, j];
/// - base-skill retention = mean over skills k with R[0, k] > 0 of R[T, k] / R[0, k]
///   (1 = nothing forgotten; skills the base never solved are left out, nil if none);
/// both averaged over the configuration's completed seeds; wall time summed over them.
public enum StudySummary {
    public struct Row: Sendable, Equatable {
        public var label: String
        public var method: String
        public var seeds: Int
        public var finalTaskAccuracy: Double
        public var baseSkillRetention: Double?
        public var wallTime: Double
        /// Seeds whose training diverged.
        public var diverged: Int
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
            var final = 0.0, retention = 0.0, retained = 0, wall = 0.0, diverged = 0
            for cell in cells {
                let rows = cell.accuracy.shape[0], cols = cell.accuracy.shape[1]
                let r = cell.accuracy.values
                let last = (rows - 1) * cols
                let taskColumns = (0..<cols).filter { cell.kinds[$0] == "task" }
                final += taskColumns.reduce(0) { $0 + r[last + $1] } / Double(max(taskColumns.count, 1))
                let skills = (0..<cols).filter { cell.kinds[$0] == "skill" && r[$0] > 0 }
                if !skills.isEmpty {
                    retention += skills.reduce(0) { $0 + r[last + $1] / r[$1] } / Double(skills.count)
                    retained += 1
                }
                wall += try cell.group.doubleAttribute("wall_time")
                if try cell.group.hasAttribute("diverged_at_step") { diverged += 1 }
            }
            let first = cells[0].group
            return Row(label: try first.stringAttribute("label"), method: try first.stringAttribute("method"),
                       seeds: cells.count, finalTaskAccuracy: final / Double(cells.count),
                       baseSkillRetention: retained > 0 ? retention / Double(retained) : nil,
                       wallTime: wall, diverged: diverged)
        }
    }
}
