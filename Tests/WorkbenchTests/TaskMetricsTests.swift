import Testing
@testable import Workbench

/// `TaskMetricsAccumulator` on hand-made predictions.
@Suite struct TaskMetricsTests {
    static let tolerance = 1e-12

    @Test func oneWrongTokenCostsTheWholeExampleButOneTokenOfAccuracy() {
        // Two examples of T = 4; answer positions (mask 1): row 0 → 3, row 1 → 2. Row 2 is padding.
        let targets: [Int32] = [5, 6, 7, 1, 8, 9, 1, 0, 0, 0, 0, 0]
        let mask: [Float] = [0, 1, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0]
        var predictions = targets
        predictions[0] = 40      // wrong, but outside the answer: ignored
        predictions[2] = 41      // the one wrong answer token, in row 0
        predictions[8] = 42      // padding row: ignored
        var acc = TaskMetricsAccumulator()
        acc.add(predictions: predictions, targets: targets, mask: mask, rows: 2, T: 4, loss: 0.5)
        let m = acc.metrics(languageModelling: false)
        #expect(m.exampleCount == 2 && m.answerTokenCount == 5)
        #expect(m.exactMatch == 0.5)
        #expect(abs(m.tokenAccuracy - 4.0 / 5.0) < Self.tolerance)
        #expect(abs(m.meanLoss - 0.5) < Self.tolerance)
        #expect(m.perplexity == nil)
    }

    @Test func lossIsAveragedPerAnswerTokenAcrossBatches() {
        var acc = TaskMetricsAccumulator()
        // Batch 1: one token with loss 1. Batch 2: three tokens with mean loss 3.
        acc.add(predictions: [1, 0], targets: [1, 0], mask: [1, 0], rows: 1, T: 2, loss: 1)
        acc.add(predictions: [2, 3, 4], targets: [2, 3, 4], mask: [1, 1, 1], rows: 1, T: 3, loss: 3)
        let m = acc.metrics(languageModelling: true)
        #expect(abs(m.meanLoss - 2.5) < Self.tolerance)                  // (1·1 + 3·3) / 4
        #expect(abs(m.perplexity! - 12.182493960703473) < 1e-9)          // e^2.5
        #expect(m.exactMatch == 1 && m.tokenAccuracy == 1)
    }
}
