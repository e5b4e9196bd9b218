import Foundation
import Testing
@testable import Workbench

/// A diverged cell (ΔW with NaN) does not stop the ΔW analyses: it is left out, by name.
@Suite struct AnalysisDivergedCellsTests {
    @Test("spectrum and subspace analyse the healthy cells and name the diverged one in a note")
    func divergedCellIsLeftOut() throws {
        try withTemporaryFolder { folder in
            let methods = "  - {method: full, lr: 1.0e+30, label: exploding}\n  - {method: lora, r: 2, lora_alpha: 4}\n"
            let results = try tinyResults(in: folder, methods: methods)
            #expect(results.cells.first { $0.label == "exploding" }?.diverged == true)
            let spectrum = try SpectrumAnalysis.run(results, filter: AnalysisFilter())
            #expect(spectrum.notes.contains { $0.contains("diverged") && $0.contains("exploding/seed0") })
            let labels = Set(spectrum.tables.flatMap { $0.columns.contains { $0.name == "label" } ? $0.values("label").map(\.description) : [] })
            #expect(labels.contains("lora") && !labels.contains("exploding"))
            let subspace = try SubspaceAnalysis.run(results, filter: AnalysisFilter(), options: .init(nullSamples: 8, randomDraws: 2))
            #expect(subspace.notes.contains { $0.contains("exploding/seed0") })
        }
    }
}
