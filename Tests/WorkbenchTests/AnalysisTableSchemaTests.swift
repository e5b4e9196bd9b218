import Foundation
import Testing
@testable import Workbench

/// One quantity per column name in every table: each column the analyses and `export` write has
/// a unit, a direction and a meaning (`ColumnSchema`), and `--json` and the export README carry them.
@Suite("Tables: a unit, a direction and a meaning for every column")
struct AnalysisTableSchemaTests {
    @Test("every column of every table — study and checkpoint modes of every analysis, and export's own — is described")
    func everyColumnIsDescribed() throws {
        try withTemporaryFolder { folder in
            let methods = """
                  - {method: full, lr: 3.0e-4}
                  - {method: lora, r: 2, lora_alpha: 4}
                  - {method: qlora, r: 2, lora_alpha: 4}

                """
            let results = try tinyResults(in: folder, methods: methods)
            var tables = try StudyExport.tables(of: results, filter: AnalysisFilter())
            tables += try ForgettingAnalysis.run(results, filter: AnalysisFilter()).tables
            tables += try SpectrumAnalysis.run(results, filter: AnalysisFilter()).tables
            tables += try LowRankTest.run(results, options: LowRankOptions(ranks: [0, 2], modes: ["all"])).tables
            tables += try SubspaceAnalysis.run(results, filter: AnalysisFilter(), options: .init(nullSamples: 8, randomDraws: 2)).tables
            tables += try NF4Effect.run(results).tables
            let base = try CheckpointSet(path: CheckpointFixtures.path("peft_base.safetensors"))
            let tuned = try CheckpointSet(path: CheckpointFixtures.path("peft_lora_merged.safetensors"))
            tables += try CheckpointAnalysis.spectrum(base: base, tuned: tuned).tables
            tables += try CheckpointAnalysis.spectrum(adapter: PEFTAdapter(folder: CheckpointFixtures.path("peft_lora")), base: base).tables
            tables += try CheckpointAnalysis.nf4(checkpoint: base).tables

            var undescribed: [String] = []
            for table in tables {
                for column in table.columns where column.unit.isEmpty || column.meaning.isEmpty {
                    undescribed.append("\(table.name).\(column.name)")
                }
            }
            #expect(tables.count > 20)
            #expect(undescribed.isEmpty, "columns without a unit or a meaning: \(undescribed)")
        }
    }

    @Test("summary columns follow their base name: x_mean shares unit and direction, x_std is a spread, x_n a count")
    func derivedColumns() throws {
        let mean = try #require(ColumnSchema.entry("acc_new_task_mean"))
        #expect(mean.unit == "fraction" && mean.direction == .higherIsBetter)
        let spread = try #require(ColumnSchema.entry("forgotten_std"))
        #expect(spread.unit == "fraction" && spread.direction == .none && spread.meaning.contains("missing when n < 2"))
        #expect(ColumnSchema.entry("gain_recovered_n")?.unit == "count")
        #expect(ColumnSchema.entry("kl_from_base")?.unit == "nats/token" && ColumnSchema.entry("kl_from_base")?.direction == .lowerIsBetter)
        #expect(ColumnSchema.entry("no_such_column") == nil && ColumnSchema.entry("no_such_column_mean") == nil)
        // A table's own meaning wins; an empty one takes the schema's.
        #expect(TidyTable.Column("sigma", "").meaning == "singular value σᵢ")
        #expect(TidyTable.Column("sigma", "σ of W0").meaning == "σ of W0")
    }

    @Test("--json gives each column's unit and direction; the export README has them in its tables")
    func jsonAndReadme() throws {
        let table = TidyTable(name: "t", summary: "one row", columns: [.init("seed", ""), .init("acc_new_task", "")], rows: [[.integer(0), .number(0.5)]])
        let json = try AnalysisReport(analysis: "x", tables: [table], reused: false, storage: nil, notes: []).json()
        #expect(json.contains(#""direction" : "higher""#) && json.contains(#""unit" : "fraction""#) && json.contains(#""unit" : "key""#))
        let readme = StudyExport.readme([table], format: .csv, source: "r.h5")
        #expect(readme.contains("| column | unit | better | meaning |") && readme.contains("| `acc_new_task` | fraction | higher |"))
    }
}
