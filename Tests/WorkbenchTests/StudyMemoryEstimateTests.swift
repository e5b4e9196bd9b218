import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// A study is sized before anything is built: sizes no machine could hold are refused at once,
/// with the key and the estimate, and nothing is written.
@Suite struct StudyMemoryEstimateTests {
    @Test("100 million layers: refused at `model` in milliseconds, naming the parameter count")
    func hugeModel() throws {
        let text = tinyStudyText().replacingOccurrences(of: "n_layers: 1", with: "n_layers: 100000000")
        let start = ContinuousClock.now
        #expect {
            try Study.parse(yaml: text, file: "huge.yaml")
        } throws: { error in
            guard let e = error as? StudyError else { return false }
            return e.keyPath == "model" && e.line == 3 && e.message.contains("weights alone need an estimated")
        }
        #expect(ContinuousClock.now - start < .seconds(2))
    }

    @Test("a batch of 1e8 sequences: refused with the activations named in the estimate")
    func hugeBatch() {
        let text = tinyStudyText().replacingOccurrences(of: "training: {steps: 8, lr: 1.0e-3, batch: 8}",
                                                        with: "training: {steps: 8, lr: 1.0e-3, batch: 100000000}")
        #expect {
            try Study.parse(yaml: text, file: "batch.yaml")
        } throws: { error in
            (error as? StudyError).map { $0.keyPath == "model" && $0.message.contains("activations") } == true
        }
    }

    @Test("the SmolLM2 quickstart's largest cell is full fine-tuning: 4P + 4P + 12P + activations + the base for KL + one stage's ΔW + the loss curve")
    func quickstartEstimate() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let study = try Study.load(contentsOf: directory.appendingPathComponent("studies/quickstart.yaml").path)
        let estimate = try study.memoryEstimate()
        let P = 4.0 * 134_515_008
        let config = ModelConfig.smolLM2(contextLength: 64)
        let A = Activations.estimatedBytes(config: config, maxB: 8, maxT: 64, maxP: 64)
        #expect(estimate.phase == "full")
        let perBlock: Double = 2 * 576 * 576 + 2 * 192 * 576 + 3 * 1536 * 576
        let linear: Double = 4 * 30 * perBlock
        let lossCurve = 4.0 * 50  // one task of 50 steps
        #expect(estimate.bytes == P + P + 3 * P + A + (P + A) + linear + lossCurve)
        #expect(linear == 4.0 * 106_168_320, "SmolLM2's 210 linear matrices")
        #expect(estimate.bytes > 4.5 * 1_073_741_824 && estimate.bytes < 5.5 * 1_073_741_824)
        // A smaller --max-memory refuses it.
        #expect(throws: StudyError.self) {
            try Study.load(contentsOf: directory.appendingPathComponent("studies/quickstart.yaml").path, memoryLimit: 2 * 1_073_741_824)
        }
    }

    @Test("full fine-tuning that stores its trained weights (weights: every or final) adds them once more, 4P, as they are committed")
    func storedWeightsAreCounted() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: directory.appendingPathComponent("studies/quickstart.yaml"), encoding: .utf8)
        let none = try Study.parse(yaml: text, file: "quickstart.yaml", workingDirectory: directory.path).memoryEstimate()
        for weights in ["every", "final"] {
            let stored = try Study.parse(yaml: text.replacingOccurrences(of: "weights: none", with: "weights: \(weights)"),
                                         file: "quickstart.yaml", workingDirectory: directory.path).memoryEstimate()
            #expect(stored.bytes == none.bytes + 4.0 * 134_515_008)
            #expect(stored.parts.contains { $0.name == "trained weights as committed" })
        }
    }
}
