@testable import Analysis
import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// The tiny study with a LoRA and a QLoRA cell (same r, lora_alpha; QLoRA with its defaults).
let loraAndQLoRA = "  - {method: lora, r: 2, lora_alpha: 4}\n  - {method: qlora, r: 2, lora_alpha: 4}\n"

@Suite("Analysis: NF4 quantization error, re-quantization, the 4-bit merge")
struct NF4ErrorTests {
    /// 64 × 256 standard normal values: 256 blocks of 64, a whole group of 256 absmaxes.
    static func gaussian(seed: UInt64 = 7) -> Tensor {
        var rng = SeededRNG(seed: seed)
        return Tensor.normal([64, 256], rng: &rng)
    }

    @Test("on N(0, 1) data at blocksize 64: NF4 < E2M1 < absmax int4 < bitsandbytes' FP4 (MSE)")
    func errorOrderOnGaussians() {
        let rows = NF4ErrorMeasurement.measure([("g", Self.gaussian())], blocksize: 64, doubleQuant: [false])
        let byFormat = Dictionary(uniqueKeysWithValues: rows.map { ($0.format, $0) })
        let nf4 = byFormat[.nf4]!, fp4 = byFormat[.fp4]!, e2m1 = byFormat[.e2m1]!, int4 = byFormat[.int4]!
        // bitsandbytes' FP4 spends two levels within 0.006 of zero and has nothing between
        // 1/16 and 2 (in twelfths), where most of a Gaussian block lies.
        #expect(nf4.mse < e2m1.mse && e2m1.mse < int4.mse && int4.mse < fp4.mse,
                "mse nf4 \(nf4.mse), e2m1 \(e2m1.mse), int4 \(int4.mse), fp4 \(fp4.mse)")
        #expect(nf4.relativeFrobenius < e2m1.relativeFrobenius && int4.relativeFrobenius < fp4.relativeFrobenius)
        #expect(rows.allSatisfy { $0.elements == 64 * 256 && $0.blocksize == 64 })
        #expect(rows.allSatisfy { $0.blockMaxP50 <= $0.blockMaxP90 && $0.blockMaxP90 <= $0.blockMaxMax && $0.blockMaxMean <= $0.blockMaxMax })
    }

    @Test("double quantization raises the error only slightly and cuts bits/param from 4.5 to ≈ 4.127")
    func doubleQuantization() {
        let rows = NF4ErrorMeasurement.measure([("g", Self.gaussian())], formats: [.nf4], blocksize: 64)
        let plain = rows.first { !$0.doubleQuant }!, dq = rows.first { $0.doubleQuant }!
        #expect(plain.bitsPerParameter == 4.5)
        // 4 bits of code + 8/64 per absmax code + 32/(64·256) per group scale + 32/n for the mean.
        let n = Double(64 * 256)
        #expect(dq.bitsPerParameter == 4 + 8.0 / 64 + 32.0 / (64 * 256) + 32 / n)
        let allowedRelativeIncrease = 0.01
        #expect(dq.relativeFrobenius >= plain.relativeFrobenius * 0.999)
        #expect(dq.relativeFrobenius <= plain.relativeFrobenius * (1 + allowedRelativeIncrease),
                "relative error \(plain.relativeFrobenius) → \(dq.relativeFrobenius)")
    }

    @Test("percentiles interpolate linearly between order statistics")
    func percentiles() {
        #expect(NF4ErrorMeasurement.percentile([3, 1, 2, 4], 0.5) == 2.5)
        #expect(NF4ErrorMeasurement.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.9) == 10)
        #expect(NF4ErrorMeasurement.percentile([5], 0.9) == 5 && NF4ErrorMeasurement.percentile([], 0.5) == 0)
    }

    @Test("quantizing a dequantized tensor again: same codes; same absmax without double quantization")
    func requantizationIsIdempotent() {
        let x = Self.gaussian(seed: 11)
        for format in QuantFormat.allCases {
            let q = QuantizedTensor(quantizing: x, format: format, blocksize: 64)
            let again = QuantizedTensor(quantizing: q.dequantize(), format: format, blocksize: 64)
            #expect(again.blockAbsmax == q.blockAbsmax, "\(format): each block's extreme sits on level ±1, so absmax is kept exactly")
            #expect(again.dequantize() == q.dequantize(), "\(format): deq(Q(deq(Q(x)))) == deq(Q(x))")
            // Codes repeat too, except that FP4's sign-bit zero (code 8, small positive values)
            // comes back as 0 and then takes code 0.
            let changed = (0..<x.count).filter { again.code(at: $0) != q.code(at: $0) }
            #expect(changed.allSatisfy { format == .fp4 && q.code(at: $0) == 8 && again.code(at: $0) == 0 }, "\(format)")
            let dq = QuantizedTensor(quantizing: x, format: format, blocksize: 64, doubleQuant: true)
            let dqAgain = QuantizedTensor(quantizing: dq.dequantize(), format: format, blocksize: 64, doubleQuant: true)
            let levelsAgain = (0..<x.count).map { format.levels[Int(dqAgain.code(at: $0))] }
            #expect(levelsAgain == (0..<x.count).map { format.levels[Int(dq.code(at: $0))] },
                    "\(format): the 4-bit levels survive (and so the codes, but for FP4's two codes of 0)")
            // The absmaxes are now the 8-bit reconstructions â; their mean and group scales
            // differ from the originals', so the double-quantized constants need not repeat.
            let drift = zip(dqAgain.blockAbsmax, dq.blockAbsmax).map { abs($0 - $1) / $1 }.max()!
            let driftBound: Float = 0.01
            #expect(drift <= driftBound, "\(format): absmax drift \(drift)")
        }
    }

    @Test("merging ΔW = 0 into W0_q changes nothing without double quantization, little with it")
    func zeroDeltaMerge() {
        let w0 = Self.gaussian(seed: 3)
        let zero = Tensor(shape: w0.shape, repeating: 0)
        let w0q = QuantizedTensor(quantizing: w0, format: .nf4, blocksize: 64).dequantize()
        var plain = NF4Requantization()
        #expect(plain.merge(base: w0q, delta: zero, format: .nf4, blocksize: 64, doubleQuant: false) == w0q)
        #expect(plain.errorSquared == 0 && plain.errorOverDelta == nil && plain.fractionBelowHalfStep == 1)

        let w0qdq = QuantizedTensor(quantizing: w0, format: .nf4, blocksize: 64, doubleQuant: true).dequantize()
        var dq = NF4Requantization()
        _ = dq.merge(base: w0qdq, delta: zero, format: .nf4, blocksize: 64, doubleQuant: true)
        let w0Error = QuantizationError(of: w0, format: .nf4, blocksize: 64, doubleQuant: true).relativeFrobenius
        #expect(dq.errorOverWeight < w0Error / 10, "re-quantizing W0_q (\(dq.errorOverWeight)) ≪ quantizing W0 (\(w0Error))")
    }

    @Test("an update below half a quantization step is rounded away by the 4-bit merge")
    func smallUpdatesVanish() {
        let w0q = QuantizedTensor(quantizing: Self.gaussian(seed: 5), format: .nf4, blocksize: 64).dequantize()
        // ΔW = 1e-4, far below the smallest NF4 gap (≈ 0.08·absmax), on every entry except
        // each block's largest: moving that one would rescale the whole block.
        var delta = Tensor(shape: w0q.shape, repeating: 0)
        for b in 0..<(w0q.count / 64) {
            let block = (b * 64)..<((b + 1) * 64)
            let absmax = block.map { abs(w0q.storage[$0]) }.max()!
            for i in block where abs(w0q.storage[i]) < absmax { delta.storage[i] = 1e-4 }
        }
        var r = NF4Requantization()
        let merged = r.merge(base: w0q, delta: delta, format: .nf4, blocksize: 64, doubleQuant: false)
        #expect(merged == w0q, "deq(Q(W0_q + ΔW)) = W0_q: the whole update is lost")
        #expect(r.fractionBelowHalfStep == 1)
        let destroyedTolerance = 1e-3
        #expect(abs(r.errorOverDelta! - 1) < destroyedTolerance, "‖W' − W‖/‖ΔW‖ = \(r.errorOverDelta!)")
    }

    @Test("the local step is the gap between the two levels around w/absmax, times absmax")
    func localStep() {
        let levels = QuantFormat.int4Levels.dropFirst().map { $0 }  // −7/7 … 7/7, step 1/7
        #expect(abs(NF4Requantization.localStep(of: 0.3, absmax: 2, levels: levels) - 2.0 / 7) < 1e-6)
        #expect(abs(NF4Requantization.localStep(of: -2, absmax: 2, levels: levels) - 2.0 / 7) < 1e-6)
        #expect(NF4Requantization.localStep(of: 0, absmax: 0, levels: levels) == 0)
    }
}

@Suite("Analysis: QLoRA vs LoRA pairing and accuracy summaries")
struct NF4PairingTests {
    func cell(_ label: String, _ method: String, seed: Int = 0, configuration: String, protocol p: FineTuningProtocol = .sequential) -> StudyResults.Cell {
        StudyResults.Cell(path: "runs/\(label)/seed\(seed)", label: label, method: method, fineTuningProtocol: p, seed: seed,
                          configuration: configuration, taskCount: 2, trainableParameters: 0, diverged: false)
    }

    @Test("qlora pairs with the lora cell of its seed; among several, the one with the same LoRA configuration")
    func matching() {
        let q = cell("qlora", "qlora", configuration: #"{"bnb_4bit_quant_type":"nf4","bnb_4bit_use_double_quant":true,"lora_alpha":4,"r":2}"#)
        let q1 = cell("qlora", "qlora", seed: 1, configuration: q.configuration)
        let r2 = cell("lora-r2", "lora", configuration: #"{"lora_alpha":4,"r":2}"#)
        let r8 = cell("lora-r8", "lora", configuration: #"{"lora_alpha":16,"r":8}"#)
        let r8seed1 = cell("lora-r8", "lora", seed: 1, configuration: #"{"lora_alpha":16,"r":8}"#)
        let perTask = cell("lora-pt", "lora", seed: 2, configuration: #"{"lora_alpha":4,"r":2}"#, protocol: .perTask)
        let q2 = cell("qlora", "qlora", seed: 2, configuration: q.configuration)

        let result = NF4QLoRAPair.match([q, q1, q2], among: [q, r2, r8, r8seed1, perTask, q1, q2])
        #expect(result.pairs == [NF4QLoRAPair(qlora: q, lora: r2), NF4QLoRAPair(qlora: q1, lora: r8seed1)],
                "seed 1 has a single lora cell: paired whatever its r")
        #expect(result.unmatched.count == 1 && result.unmatched[0].contains("qlora/seed2") && result.unmatched[0].contains("no lora cell"))

        let twin = cell("lora-r2b", "lora", configuration: r2.configuration)
        let ambiguous = NF4QLoRAPair.match([q], among: [r2, twin])
        #expect(ambiguous.pairs.isEmpty && ambiguous.unmatched[0].contains("2 of them"))
    }

    @Test("summary metrics follow the stated formulas (Avalanche forgetting, skill drop)")
    func summary() {
        // S = 2 skills, T = 3 tasks.
        let r: [[Double]] = [
            [0.9, 0.8, 0.0, 0.0, 0.0],
            [0.7, 0.8, 0.6, 0.0, 0.1],
            [0.6, 0.7, 0.4, 0.9, 0.0],
            [0.5, 0.6, 0.3, 0.5, 0.7],
        ]
        let s = NF4AccuracySummary(accuracy: r, skillCount: 2)
        #expect(abs(s.finalAverageAccuracy - (0.3 + 0.5 + 0.7) / 3) < 1e-12)
        #expect(abs(s.skillsAfterLast! - 0.55) < 1e-12)
        #expect(abs(s.forgetting! - ((0.6 - 0.3) + (0.9 - 0.5)) / 2) < 1e-12)
        #expect(abs(s.skillDrops[0] - 0.4) < 1e-12 && abs(s.skillDrops[1] - 0.2) < 1e-12 && abs(s.skillDrop! - 0.3) < 1e-12)
        #expect(NF4AccuracySummary(accuracy: Array(r[0...1]).map { Array($0[0...2]) }, skillCount: 2).forgetting == nil)
    }
}

@Suite("Analysis: the NF4 effect on a tiny study with LoRA and QLoRA")
struct NF4StudyTests {
    @Test("merge 'before' reproduces the stored rows; pairs, tables and reuse on a second run")
    func tinyStudy() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder, methods: loraAndQLoRA)
            let qlora = try #require(results.cells(method: "qlora").first)
            let lora = try #require(results.cells(method: "lora").first)
            let evaluator = try StudyEvaluator(results: results)
            for cell in [qlora, lora] {
                for stage in 1...cell.taskCount {
                    let e = try NF4MergeEvaluation.evaluate(results, evaluator: evaluator, cell: cell, stage: stage, blocksize: 64)
                    #expect(e.columns == Array(0..<(2 + stage)))
                    #expect(e.before.map(\.exactMatch) == e.stored, "\(cell.label) after task \(stage): W_base + ΔW is what the runner computed with")
                    #expect(e.requantization.elements == 4 * 16 * 16 + 2 * 32 * 16, "every linear matrix is re-quantized")
                }
            }
            let setting = try NF4MergeEvaluation.quantization(of: qlora)
            #expect(setting.format == .nf4 && setting.doubleQuant, "QLoRA's defaults")

            var progressLines: [String] = []
            let first = try NF4Effect.run(results, progress: { progressLines.append($0) })
            #expect(!first.reused && progressLines.count == 4, "2 cells × 2 stages")
            guard case .stored = first.storage else { Issue.record("not stored: \(String(describing: first.storage))"); return }
            let names = first.tables.map(\.name)
            #expect(names == ["nf4_error", "nf4_error_summary", "qlora_vs_lora", "nf4_merge"])

            let errors = first.tables[0]
            // Base: 6 matrices × 8 settings (4 formats × double quant); each cell, stage: 6 matrices × 8 settings × (finetuned, delta).
            #expect(errors.rows.count == 48 + 2 * 2 * 96)
            let merge = first.tables[3]
            #expect(merge.rows.count == 4 && merge.values("stored_mismatch").allSatisfy { $0 == .number(0) })

            let comparison = first.tables[2]
            let seedRows = comparison.rows.filter { $0[3] == .text("seed") }
            #expect(seedRows.allSatisfy { $0[0] == .text("qlora") && $0[1] == .text("lora") })
            let final = NF4AccuracySummary(accuracy: try results.accuracy(qlora), skillCount: 2).finalAverageAccuracy
                - NF4AccuracySummary(accuracy: try results.accuracy(lora), skillCount: 2).finalAverageAccuracy
            let finalRow = try #require(seedRows.first { $0[5] == .text("final_average_accuracy") })
            #expect(finalRow[8] == .number(final))
            let meanRow = try #require(comparison.rows.first { $0[3] == .text("mean") && $0[5] == .text("final_average_accuracy") })
            #expect(meanRow[8] == .number(final) && meanRow[9] == .missing && meanRow[10] == .integer(1))

            let reopened = try StudyResults(url: results.url)
            var again = 0
            let second = try NF4Effect.run(reopened, progress: { _ in again += 1 })
            // JSON stores 0.0 as 0, which reads back as an integer: compare what is printed.
            #expect(second.reused && again == 0 && second.tables.map(\.name) == first.tables.map(\.name))
            #expect(second.tables.map { $0.rendered() } == first.tables.map { $0.rendered() })
            let other = try NF4Effect.run(reopened, filter: AnalysisFilter(methods: ["qlora"], matrices: ["attn.q"]),
                                          options: .init(blocksize: 32))
            #expect(!other.reused && other.tables[0].rows.count == 8 + 2 * 16)
        }
    }
}

@Suite("Analysis: NF4 tables of an older codebook")
struct NF4CodebookVersionTests {
    @Test("a table stored before codebook version 2 (fp4 was E2M1) is recomputed, not read back, and dropped")
    func olderTablesAreRecomputed() throws {
        try withTemporaryFolder { folder in
            let results = try tinyResults(in: folder, methods: loraAndQLoRA)
            let current = NF4Effect.parameters(filter: AnalysisFilter(), options: .init())
            #expect(current.contains("\"quant_tables\":\(QuantFormat.tableVersion)"))
            // What version 1 stored: the same key without quant_tables, and a made-up table.
            let old = #"{"blocksize":64,"filter":{}}"#
            let stale = TidyTable(name: "nf4_error", summary: "old", columns: [.init("format", "")])
            try AnalysisStore.store([stale], in: results, analysis: NF4Effect.analysis, parameters: old)
            #expect(NF4Effect.isFromOlderCodebook(old) && !NF4Effect.isFromOlderCodebook(current))

            let report = try NF4Effect.run(StudyResults(url: results.url))
            #expect(!report.reused)
            #expect(Set(report.tables[0].values("format").map(\.description)) == ["nf4", "fp4", "e2m1", "int4"])
            let reopened = try StudyResults(url: results.url)
            #expect(try AnalysisStore.cached(reopened, analysis: NF4Effect.analysis, parameters: old) == nil)
            #expect(try reopened.root.group("analysis/nf4").children() == [AnalysisStore.key(current)], "only the current table is left")
        }
    }
}
