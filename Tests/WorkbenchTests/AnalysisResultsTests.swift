import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// Runs the tiny study (full + lora, two tasks) into `folder/results.h5` and opens it.
func tinyResults(in folder: URL, methods: String? = nil) throws -> StudyResults {
    let study = try writeStudy(methods.map { tinyStudyText(methods: $0) } ?? tinyStudyText(), in: folder)
    let url = folder.appendingPathComponent("results.h5")
    _ = try runStudy(study, output: url)
    return try StudyResults(url: url)
}

@Suite("Analysis: reading study results, re-evaluating, storing under /analysis")
struct AnalysisResultsTests {
    @Test("a results file lists its cells, columns and seeds as the runner wrote them")
    func cellsAndColumns() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            #expect(results.cells.map(\.label) == ["full", "lora"])
            #expect(results.cells.allSatisfy { $0.seed == 0 && $0.taskCount == 2 && $0.fineTuningProtocol == .sequential })
            #expect(results.skillNames == ["copy", "facts"] && results.taskNames == ["rev", "mod7"])
            #expect(results.seeds == [0])
            let lora = try #require(results.cells(method: "lora").first)
            #expect(try results.accuracy(lora).count == 3 && results.accuracy(lora)[0].count == 4)
            #expect(try results.deltaNames(lora, afterTask: 1) == [
                "blocks.0.attn.k.weight", "blocks.0.attn.o.weight", "blocks.0.attn.q.weight", "blocks.0.attn.v.weight",
                "blocks.0.mlp.fc.weight", "blocks.0.mlp.proj.weight"])
            #expect(try results.delta(lora, afterTask: 2, name: "blocks.0.mlp.fc.weight").shape == [32, 16])
            #expect(throws: AnalysisError.self) { try results.delta(lora, afterTask: 3, name: "blocks.0.mlp.fc.weight") }
        }
    }

    @Test("re-evaluating the stored weights reproduces the stored accuracy rows exactly")
    func reevaluationReproducesRows() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            let evaluator = try StudyEvaluator(results: results)
            let full = try #require(results.cells(method: "full").first)
            let stored = try results.accuracy(full)
            #expect(try evaluator.evaluate(seed: 0).map(\.exactMatch) == stored[0], "row 0 is the base")
            for t in 1...2 {
                var overrides: [String: Tensor] = [:]
                for name in try results.trainedBaseNames(full, afterTask: t) {
                    overrides[name] = try results.trainedBase(full, afterTask: t, name: name)
                }
                #expect(try evaluator.evaluate(seed: 0, overrides: overrides).map(\.exactMatch) == stored[t])
                let w0 = try results.baseWeight(seed: 0, name: "blocks.0.attn.v.weight")
                let dW = try results.delta(full, afterTask: t, name: "blocks.0.attn.v.weight")
                let wt = overrides["blocks.0.attn.v.weight"]!
                let roundOff = zip((w0 + dW).storage, wt.storage).map { abs($0 - $1) }.max()!
                #expect(roundOff <= 1e-8, "full's ΔW is W_t − W0, up to one rounding")
            }
            #expect(try evaluator.evaluate(seed: 0, columns: [3, 0]).count == 2)
            #expect(throws: AnalysisError.self) { try evaluator.evaluate(seed: 5) }
        }
    }

    @Test("stored tables come back equal for the same parameters, and not for others")
    func storeAndReuse() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            var table = TidyTable(name: "demo", summary: "one row per thing",
                                  columns: [.init("label", "method label"), .init("k", "rank"), .init("value", "a number")])
            table.append([.text("lora, \"r=2\""), .integer(2), .number(0.25)])
            table.append([.text("full"), .integer(4), .missing])
            let outcome = try AnalysisStore.store([table], in: results, analysis: "demo", parameters: #"{"k":[2,4]}"#)
            guard case .stored(let path) = outcome else { Issue.record("not stored: \(outcome)"); return }
            #expect(path.hasPrefix("/analysis/demo/"))

            let reopened = try StudyResults(url: results.url)
            #expect(try AnalysisStore.cached(reopened, analysis: "demo", parameters: #"{"k":[2,4]}"#) == [table])
            #expect(try AnalysisStore.cached(reopened, analysis: "demo", parameters: #"{"k":[8]}"#) == nil)
            #expect(reopened.cells.count == 2, "the cells survive the update")
            let file = try HDF5File.open(results.url)
            defer { try? file.close() }
            let stored = try file.root().group(String(path.dropFirst()) + "/tables/demo")
            #expect(try stored.readArray("k", as: Int64.self).values == [2, 4])
            #expect(try stored.readArray("value", as: Double.self).values[1].isNaN, "missing → NaN")
            #expect(try stored.readValue("label") == .strings(["lora, \"r=2\"", "full"]))
        }
    }

    @Test("a stored analysis is not reused once another cell has completed: it is computed again, with the new cell")
    func staleWhenCellsChange() throws {
        try withTemporaryFolder { folder in
            let first = try tinyResults(in: folder, methods: "  - {method: full, lr: 3.0e-4}\n")
            let before = try ForgettingAnalysis.run(first, filter: AnalysisFilter())
            #expect(!before.reused && Set(before.tables[0].values("label").map(\.description)) == ["full"])
            #expect(try ForgettingAnalysis.run(try StudyResults(url: first.url), filter: AnalysisFilter()).reused)
            // The study gains a method: one more cell.
            let grown = try tinyResults(in: folder, methods: "  - {method: full, lr: 3.0e-4}\n  - {method: lora, r: 2, lora_alpha: 4}\n")
            let after = try ForgettingAnalysis.run(grown, filter: AnalysisFilter())
            #expect(!after.reused)
            #expect(Set(after.tables[0].values("label").map(\.description)) == ["full", "lora"])
        }
    }

    @Test("storing again replaces the analysis file: recomputing never grows the results; the parts are untouched")
    func recomputeDoesNotGrow() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            let cells = try FileManager.default.contentsOfDirectory(atPath: results.layout.cellsFolder.path).sorted()
            let cellBytes = try cells.map { try Data(contentsOf: results.layout.cellsFolder.appendingPathComponent($0)) }
            var table = TidyTable(name: "t", summary: "", columns: [.init("x", "")])
            for i in 0..<2000 { table.append([.integer(i)]) }
            var sizes: [Int] = []
            for _ in 0..<4 {
                try AnalysisStore.store([table], in: results, analysis: "demo", parameters: "{}")
                let files = try FileManager.default.contentsOfDirectory(atPath: results.layout.analysisFolder.path)
                #expect(files.count == 1)
                sizes.append(try FileManager.default.attributesOfItem(atPath: results.layout.analysisFolder.appendingPathComponent(files[0]).path)[.size] as! Int)
            }
            #expect(Set(sizes).count == 1, "sizes \(sizes)")
            #expect(try cells.map { try Data(contentsOf: results.layout.cellsFolder.appendingPathComponent($0)) } == cellBytes)
            // The index links the stored analysis, so h5py sees /analysis/demo/{key}.
            let index = try HDF5File.open(results.url)
            defer { try? index.close() }
            #expect(try index.root().group("analysis/demo").children() == [AnalysisStore.key("{}")])
        }
    }

    @Test("a file that is not a study results file is refused with its path and the reason")
    func notAStudyFile() throws {
        try withTemporaryFolder { folder in
            let missing = folder.appendingPathComponent("nope.h5")
            #expect(throws: AnalysisError.notAStudyFile(path: missing.path, reason: "no such file")) {
                try StudyResults(url: missing)
            }
            let plain = folder.appendingPathComponent("plain.h5")
            try HDF5Transaction.write(to: plain) { try $0.write([1.0, 2.0], to: "x") }
            do {
                _ = try StudyResults(url: plain)
                Issue.record("opened a file without study_text")
            } catch let error as AnalysisError {
                #expect(error.description.contains(plain.path) && error.description.contains("study_text"))
            }
            let text = folder.appendingPathComponent("notes.txt")
            try Data("just some text, not a results file at all".utf8).write(to: text)
            do {
                _ = try StudyResults(url: text)
                Issue.record("opened a text file")
            } catch let error as AnalysisError {
                #expect(error.description == "\(text.path) is not a workbench study results file: neither a workbench file (no checksum header) nor an HDF5 file")
            }
        }
    }
}

@Suite("Analysis: tidy tables")
struct TidyTableTests {
    let table = TidyTable(
        name: "t", summary: "s", columns: [.init("name", ""), .init("n", ""), .init("x", "")],
        rows: [[.text("a,b"), .integer(12), .number(0.123456)], [.text("say \"hi\""), .integer(3), .missing]])

    @Test("CSV quotes commas and quotes (RFC 4180), keeps full precision, leaves missing empty")
    func csv() {
        #expect(table.csv() == "name,n,x\n\"a,b\",12,0.123456\n\"say \"\"hi\"\"\",3,\n")
    }

    @Test("JSON lines: one object per row, missing as null")
    func jsonLines() throws {
        #expect(try table.jsonLines() == "{\"n\":12,\"name\":\"a,b\",\"x\":0.123456}\n{\"n\":3,\"name\":\"say \\\"hi\\\"\",\"x\":null}\n")
    }

    @Test("the text table aligns numbers right and text left, 4 significant digits")
    func rendered() {
        #expect(table.rendered() == """
            name       n       x
            --------  --  ------
            a,b       12  0.1235
            say "hi"   3
            
            """)
    }
}
