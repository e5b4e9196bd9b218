import Foundation
import PEFTEngine
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

    @Test("a stored ΔW whose shape disagrees with its weight is an error naming the cell and the dataset, not a trap")
    func mismatchedDelta() throws {
        try withTemporaryFolder { folder in
            let study = try writeStudy(tinyStudyText(methods: "  - {method: full, lr: 3.0e-4}\n"), in: folder)
            let url = folder.appendingPathComponent("results.h5")
            _ = try runStudy(study, output: url)
            let cellFile = try #require(try FileManager.default.contentsOfDirectory(atPath: url.path + ".d/cells").first { $0.hasSuffix(".h5") })
            let cellURL = URL(fileURLWithPath: url.path + ".d/cells/" + cellFile)
            do {   // A foreign writer swaps one ΔW for one of another shape and reseals the file.
                let file = try HDF5File.open(cellURL, writable: true)
                let stage = try file.root().group("after_task1")
                try stage.remove("delta/blocks.0.attn.q.weight")
                try stage.write(Tensor(shape: [4, 4], repeating: 0.5), to: "delta/blocks.0.attn.q.weight")
                try file.close()
            }
            try FileSeal.seal(cellURL)
            #expect {
                try SpectrumAnalysis.run(try StudyResults(url: url), filter: AnalysisFilter())
            } throws: { error in
                let text = "\(error)"
                return text.contains("runs/full/seed0/after_task1") && text.contains("blocks.0.attn.q.weight") && text.contains("[4, 4]")
            }
        }
    }
}
