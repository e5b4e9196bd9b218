import Foundation
import Testing
@testable import Workbench

@Suite("Export: stable file names, filters on every table, rewrites in place")
struct AnalysisExportTests {
    @Test("after a filtered and an unfiltered spectrum, export writes spectrum.csv once, with the options inside")
    func stableNames() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            _ = try SpectrumAnalysis.run(results, filter: AnalysisFilter(matrices: ["attn.q"]))
            Thread.sleep(forTimeInterval: 0.05)
            _ = try SpectrumAnalysis.run(results, filter: AnalysisFilter())
            let tables = try StudyExport.tables(of: results, filter: AnalysisFilter())
            let names = tables.map(\.name)
            #expect(names.filter { $0 == "spectrum" }.count == 1 && !names.contains { $0.contains("__") })
            let spectrum = try #require(tables.first { $0.name == "spectrum" })
            #expect(spectrum.columns.last?.name == "analysis_options")
            #expect(Set(spectrum.values("analysis_options").map(\.description)) == ["{\"filter\":\(AnalysisFilter().description),\"top_k\":null}"],
                    "the latest run (unfiltered) is the one exported")
            #expect(Set(spectrum.values("matrix").map(\.description)).count > 1)

            let out = folder.appendingPathComponent("tables")
            let first = try StudyExport.write(tables, format: .csv, to: out, source: results.url.path)
            let again = try StudyExport.write(tables, format: .csv, to: out, source: results.url.path)
            #expect(first == again, "writing into a folder that already holds the tables replaces them")
            let files = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
            #expect(files == (names.map { $0 + ".csv" } + ["README.md"]).sorted(), "no temporary or hashed file left")
        }
    }

    @Test("a filter applies to the stored analysis tables too")
    func filterEveryTable() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder)
            _ = try SpectrumAnalysis.run(results, filter: AnalysisFilter())
            _ = try ForgettingAnalysis.run(results, filter: AnalysisFilter())
            let tables = try StudyExport.tables(of: results, filter: AnalysisFilter(methods: ["lora"]))
            for table in tables where table.columnIndex("method") != nil {
                #expect(Set(table.values("method").map(\.description)).isSubset(of: ["lora"]), "\(table.name) holds other methods")
            }
            let spectrum = try #require(tables.first { $0.name == "spectrum" })
            #expect(!spectrum.rows.isEmpty)
            #expect(throws: AnalysisError.self) { try StudyExport.tables(of: results, filter: AnalysisFilter(methods: ["lorra"])) }
        }
    }

    @Test("--json carries every table's column meanings and row summary beside its records")
    func jsonCarriesMeanings() throws {
        let table = TidyTable(name: "t", summary: "one row per x", columns: [.init("x", "a length, metres")], rows: [[.number(1.5)]])
        let text = try AnalysisReport(analysis: "a", tables: [table], reused: false, storage: nil).json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let columns = try #require((object["columns"] as? [String: Any])?["t"] as? [[String: String]])
        #expect(columns == [["name": "x", "meaning": "a length, metres", "unit": "", "direction": "none"]], "x is no column name of the schema")
        #expect((object["summaries"] as? [String: String])?["t"] == "one row per x")
    }
}
