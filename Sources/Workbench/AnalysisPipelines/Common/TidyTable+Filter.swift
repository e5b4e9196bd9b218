import Foundation

extension TidyTable {
    /// The rows `filter` selects, judged by the columns the table has: `label` (and `label_a`,
    /// `label_b` of pair tables), `method`, `seed` (`seed_a`, `seed_b`), the task (`task`, or a
    /// `stage` holding a task name; rows of the base, `base` or empty, are kept) and `matrix`.
    /// A table without any of those columns is returned whole.
    public func filtered(by filter: AnalysisFilter) -> TidyTable {
        var table = self
        table.rows = namedRows.filter { row in
            let labels = ["label", "label_a", "label_b"].filter { columnIndex($0) != nil }.map { row.text($0) }
            if !filter.labels.isEmpty && !labels.allSatisfy(filter.labels.contains) { return false }
            if !filter.methods.isEmpty, columnIndex("method") != nil, !filter.methods.contains(row.text("method")) { return false }
            let seeds = ["seed", "seed_a", "seed_b"].filter { columnIndex($0) != nil }.compactMap { row.integer($0) }
            if !filter.seeds.isEmpty && !seeds.allSatisfy(filter.seeds.contains) { return false }
            if !filter.tasks.isEmpty {
                let taskColumn = columnIndex("task") != nil ? "task" : "stage"
                if columnIndex(taskColumn) != nil, row.integer(taskColumn) == nil || taskColumn == "task" {
                    let task = row.text(taskColumn)
                    if !task.isEmpty && task != "base" && !filter.tasks.contains(task) { return false }
                }
            }
            if !filter.matrices.isEmpty, columnIndex("matrix") != nil, !filter.selects(matrix: row.text("matrix")) { return false }
            return true
        }.map(\.values)
        return table
    }
}
