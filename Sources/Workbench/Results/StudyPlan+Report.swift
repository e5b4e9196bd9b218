import Foundation

extension StudyPlan {
    /// One line per base and cell: index, name, state, file, and what it depends on.
    public func rendered() -> String {
        var lines: [String] = []
        let complete = (bases.filter(\.state.isComplete).count, cells.filter(\.state.isComplete).count)
        lines.append("index: \(layout.index.path)")
        lines.append("parts: \(layout.parts.path)")
        lines.append("bases: \(bases.count) (\(complete.0) complete)   cells: \(cells.count) (\(complete.1) complete)")
        lines.append("")
        lines.append("base  seed  state     file")
        for b in bases {
            lines.append(pad(String(b.index), 6) + pad(String(b.seed), 6) + pad(b.state.word, 10) + layout.relativePath(of: b.file))
            if case .changed(let d) = b.state { lines.append("      changed: " + d.joined(separator: "; ")) }
            if case .damaged(let r) = b.state { lines.append("      damaged: " + r) }
        }
        lines.append("")
        lines.append("cell  base  state     label / seed")
        for c in cells {
            lines.append(pad(String(c.index), 6) + pad(String(c.baseIndex), 6) + pad(c.state.word, 10) + "\(c.run.label) / seed\(c.seed)")
            if case .changed(let d) = c.state { lines.append("      changed: " + d.joined(separator: "; ")) }
            if case .damaged(let r) = c.state { lines.append("      damaged: " + r) }
        }
        lines.append("")
        lines.append("Run a part: workbench run STUDY --bases | --cells 0-\(max(cells.count - 1, 0)); on a cluster: workbench slurm STUDY")
        return lines.joined(separator: "\n")
    }

    /// The plan as JSON: `{index, parts, bases: [...], cells: [...]}`, keys sorted.
    public func json() -> String {
        func state(_ s: State) -> [String: Any] {
            switch s {
            case .complete, .missing: return ["state": s.word]
            case .changed(let d): return ["state": s.word, "differences": d]
            case .damaged(let r): return ["state": s.word, "reason": r]
            }
        }
        let object: [String: Any] = [
            "index": layout.index.path, "parts": layout.parts.path,
            "bases": bases.map { b in
                state(b.state).merging(["index": b.index, "seed": b.seed, "id": b.identity.id,
                                        "file": layout.relativePath(of: b.file), "path": "/" + b.path]) { a, _ in a }
            },
            "cells": cells.map { c in
                state(c.state).merging(["index": c.index, "seed": c.seed, "label": c.run.label, "method": c.run.methodName,
                                        "base": c.baseIndex, "id": c.identity.id, "file": layout.relativePath(of: c.file),
                                        "path": "/" + c.path]) { a, _ in a }
            },
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    private func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
}
