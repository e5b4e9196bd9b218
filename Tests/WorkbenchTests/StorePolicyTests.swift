import Analysis
import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// The `store:` block: what each cell keeps of ΔW and of its weights, and how every analysis
/// gets ΔW back (or is told which setting would keep it).
@Suite("Store policy: what a cell keeps", .serialized)
struct StorePolicyTests {
    @Test("bfloat16 rounds to nearest even, keeps NaN, ±0 and ±∞")
    func bfloat16Rounding() {
        #expect(DeltaStore.bfloat16(1.0) == 0x3F80)
        #expect(DeltaStore.bfloat16(Float(bitPattern: 0x3F80_8000)) == 0x3F80, "a tie goes to the even neighbour")
        #expect(DeltaStore.bfloat16(Float(bitPattern: 0x3F81_8000)) == 0x3F82, "a tie goes to the even neighbour")
        #expect(DeltaStore.bfloat16(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        #expect(DeltaStore.bfloat16(-0.0) == 0x8000 && DeltaStore.bfloat16(.infinity) == 0x7F80)
        #expect(DeltaStore.float(fromBFloat16: DeltaStore.bfloat16(.nan)).isNaN)
        // Relative error ≤ 2⁻⁹ for normal numbers.
        for x: Float in [0.1, -3.14159, 1e-20, 6.5e4, 1.2345e30] {
            let back = DeltaStore.float(fromBFloat16: DeltaStore.bfloat16(x))
            #expect(abs(back - x) <= abs(x) * 0.001953125, "\(x) → \(back)")
        }
    }

    @Test("an unknown store value or key is a study error naming the key and line")
    func badStoreBlock() throws {
        try withTemporaryFolder { folder in
            for (store, message) in [("{delta: sparse}", "unknown store.delta \"sparse\""), ("{weights: some}", "unknown store.weights"),
                                     ("{spectrum_k: 0}", "spectrum_k"), ("{deltas: dense}", "deltas")] {
                do {
                    _ = try writeStudy(tinyStudyText(store: store), in: folder)
                    Issue.record("accepted store: \(store)")
                } catch let error as StudyError {
                    #expect(error.description.contains(message) && error.line == 15, "\(error.description)")
                }
            }
        }
    }

    /// Runs the tiny study with `store` into its own folder.
    static func results(_ folder: URL, store: String) throws -> StudyResults {
        let sub = folder.appendingPathComponent(store.filter { $0.isLetter })
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let study = try writeStudy(tinyStudyText(store: store), in: sub)
        _ = try runStudy(study, output: sub.appendingPathComponent("results.h5"))
        return try StudyResults(url: sub.appendingPathComponent("results.h5"))
    }

    static func bytes(_ results: StudyResults) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: results.layout.cellsFolder.path).reduce(0) {
            $0 + (try FileManager.default.attributesOfItem(atPath: results.layout.cellsFolder.appendingPathComponent($1).path)[.size] as! Int)
        }
    }

    @Test("factors rebuild LoRA's ΔW bit for bit; bfloat16 is dense rounded; spectrum keeps σ and top-k vectors; none keeps nothing — each analysis is told which setting it needs")
    func deltaForms() throws {
        try withTemporaryFolder { folder in
            let dense = try Self.results(folder, store: "{delta: dense, weights: every}")
            let factors = try Self.results(folder, store: "{delta: factors, weights: final}")
            let half = try Self.results(folder, store: "{delta: bfloat16, weights: none}")
            let spectrum = try Self.results(folder, store: "{delta: spectrum, spectrum_k: 3, weights: none}")
            let none = try Self.results(folder, store: "{delta: none, weights: none}")
            let name = "blocks.0.attn.q.weight"
            for label in ["full", "lora"] {
                let cell = { (r: StudyResults) in r.cells(label: label)[0] }
                for t in 1...2 {
                    let reference = try dense.delta(cell(dense), afterTask: t, name: name)
                    #expect(try factors.deltaNames(cell(factors), afterTask: t) == dense.deltaNames(cell(dense), afterTask: t))
                    #expect(try factors.delta(cell(factors), afterTask: t, name: name).storage.map(\.bitPattern) == reference.storage.map(\.bitPattern),
                            "\(label) after task \(t): rebuilt ΔW is what the cell computed")
                    #expect(try factors.deltaForm(cell(factors), afterTask: t) == (label == "full" ? .dense : .factors))
                    #expect(try half.delta(cell(half), afterTask: t, name: name).storage == reference.storage.map { DeltaStore.float(fromBFloat16: DeltaStore.bfloat16($0)) })
                    let sigma = try #require(try spectrum.deltaSingularValues(cell(spectrum), afterTask: t, name: name))
                    let exact = try SVDValues.of(reference)
                    #expect(sigma.count == exact.count && zip(sigma, exact).allSatisfy { abs($0 - $1) <= 1e-5 * max(exact[0], 1e-30) })
                    for r in [spectrum, none] {
                        do {
                            _ = try r.delta(cell(r), afterTask: t, name: name)
                            Issue.record("a ΔW came back from a study that did not keep it")
                        } catch let error as AnalysisError {
                            #expect(error.description.contains("store: {delta: dense}"), "\(error.description)")
                        }
                    }
                }
            }
            // Weights: every stage, the final one only, or none (factors keep the method's tensors every stage).
            let lora = factors.cells(label: "lora")[0]
            #expect(try factors.methodTensorNames(lora, afterTask: 1).isEmpty == false)
            #expect(try factors.trainedBaseNames(factors.cells(label: "full")[0], afterTask: 1).isEmpty)
            #expect(try factors.trainedBaseNames(factors.cells(label: "full")[0], afterTask: 2).isEmpty == false)
            #expect(try half.methodTensorNames(half.cells(label: "lora")[0], afterTask: 2).isEmpty)
            // The spectrum analysis runs on every form that keeps what it needs: σ alone suffices
            // for the cumulative rows, which agree with the dense study's.
            let fromDense = try SpectrumAnalysis.run(dense, filter: AnalysisFilter()).tables[0]
            let fromSpectrum = try SpectrumAnalysis.run(spectrum, filter: AnalysisFilter()).tables[0]
            let fromFactors = try SpectrumAnalysis.run(factors, filter: AnalysisFilter()).tables[0]
            #expect(fromFactors.rows == fromDense.rows, "ΔW rebuilt from factors gives the same table")
            func cumulative(_ t: TidyTable) -> [[TidyTable.Value]] { t.rows.filter { $0.contains(.text("cumulative")) } }
            #expect(cumulative(fromSpectrum).count == cumulative(fromDense).count && !cumulative(fromDense).isEmpty)
            #expect(fromSpectrum.rows.filter { $0.contains(.text("increment")) }.isEmpty)
            let sizes = try [dense, half, factors, none].map(Self.bytes)
            #expect(sizes[0] > sizes[1] && sizes[1] > sizes[3] && sizes[0] > sizes[2], "bytes dense, bf16, factors, none: \(sizes)")
        }
    }
}

/// Singular values through the Analysis target (a thin seam for the test above).
enum SVDValues {
    static func of(_ t: Tensor) throws -> [Float] { try SVD.singularValues(of: t) }
}
