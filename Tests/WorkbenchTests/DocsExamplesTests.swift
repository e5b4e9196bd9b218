import Foundation
import Testing
@testable import Workbench

/// The h5py examples in the docs stay true: every path they open, every attribute they read,
/// exists in a real results file of a study with the shipped default `store:` (the tests never
/// run Python; the paths are checked through HDF5 itself, following the index's links as h5py does).
@Suite("Docs: the h5py examples name what a results file holds")
struct DocsExamplesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `f["…"]`, `cell["…"]`, `stage["…"]` subscripts and `.attrs["…"]` reads inside the python blocks.
    static func pythonBlocks(_ file: String) throws -> [String] {
        let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
        var blocks: [String] = []
        var current: [String]?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```python") { current = [] } else if line.hasPrefix("```"), let c = current { blocks.append(c.joined(separator: "\n")); current = nil } else { current?.append(String(line)) }
        }
        return blocks
    }

    @Test("every f[…], cell[…] and stage[…] path and every attribute the examples read exists (quickstart-like study, default store)")
    func examplePathsExist() throws {
        try withTemporaryFolder { folder in
            // The quickstart's methods and store on the tiny model, written where the docs look.
            let text = tinyStudyText(methods: "  - {method: full, lr: 3.0e-4}\n  - {method: lora, r: 2, lora_alpha: 4}\n", store: "{delta: factors, weights: final}")
                .replacingOccurrences(of: "  - {name: mod7, kind: modular_add, modulus: 7, max_operand: 20}\n",
                                      with: "  - {name: mod7, kind: modular_add, modulus: 7, max_operand: 20}\n  - {name: rev2, kind: reverse, max_length: 4}\n")
            let results = folder.appendingPathComponent("results/quickstart.h5")
            try FileManager.default.createDirectory(at: results.deletingLastPathComponent(), withIntermediateDirectories: true)
            #expect(text.contains("rev2"), "three tasks, as the examples' after_task3")
            _ = try runStudy(try writeStudy(text, in: folder), output: results)
            _ = try ForgettingAnalysis.run(try StudyResults(url: results), filter: AnalysisFilter())

            let file = try HDF5File.open(results)
            defer { try? file.close() }
            let top = try file.root()
            let variables = ["cell": "runs/lora/seed0", "stage": "runs/lora/seed0/after_task3", "R": "runs/lora/seed0/accuracy"]
            var checked = 0
            for doc in ["docs/hdf5-layout.md", "README.md"] {
                for block in try Self.pythonBlocks(doc) where block.contains("quickstart.h5") {
                    for match in block.matches(of: /(\w+)(?:\.attrs)?\["([^"\]]+)"\]/) {
                        let (variable, key) = (String(match.1), String(match.2))
                        let isAttribute = block[match.range].contains(".attrs[")
                        let base = variable == "f" ? "" : (variables[variable] ?? "")
                        if variable != "f" && variables[variable] == nil { continue }  // a pandas column, a dict
                        if key.hasPrefix("tables/") || key == "analysis/forgetting" { continue }  // checked below
                        if isAttribute {
                            let object = base.isEmpty ? top : (try top.kind(of: base) == .group ? try top.group(base) : nil)
                            let dataset = object == nil ? try top.dataset(base) : nil
                            let has = try object?.hasAttribute(key) ?? dataset!.hasAttribute(key)
                            #expect(has, "\(doc): \(variable).attrs[\"\(key)\"] — no such attribute on /\(base)")
                        } else {
                            let path = base.isEmpty ? key : base + "/" + key
                            #expect(try top.contains(path), "\(doc): \(variable)[\"\(key)\"] — /\(path) is not in the file")
                        }
                        checked += 1
                    }
                }
            }
            #expect(checked >= 12, "only \(checked) paths checked: did the examples change shape?")
            // The pandas example: the first stored forgetting table has rows.
            let analysis = try top.group("analysis/forgetting")
            let key = try #require(try analysis.children().first)
            let table = try analysis.group(key + "/tables/forgetting_per_cell")
            #expect(try table.readArray("seed", as: Int64.self).values.isEmpty == false, "the example's table is empty")
        }
    }
}
