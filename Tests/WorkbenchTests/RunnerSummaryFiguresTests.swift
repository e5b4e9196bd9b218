import Testing
@testable import Workbench

/// The summary's pretrained-model figures from a hand-made cell:
///
///              nll(skill)  probe(skill)  capitals(task, EM)  shakespeare(task, NLL)
///     base        3.0          0.8             0.0                 4.0
///     after1      3.2          0.7             0.9                 4.1
///     after2      3.5          0.6             0.5                 3.0
@Suite struct RunnerSummaryFiguresTests {
    static let r: [Double] = [3.0, 0.8, 0.0, 4.0, 3.2, 0.7, 0.9, 4.1, 3.5, 0.6, 0.5, 3.0]
    static let metrics: [ColumnMetric] = [.meanNLL, .choiceAccuracy, .exactMatch, .meanNLL]
    static let kinds = ["skill", "skill", "task", "task"]

    @Test("learned per task in its own units (the NLL task's drop counts as a gain), ΔNLL, probe retention, KL over skills, rank median/max")
    func byHand() {
        let kl: [Double] = [0, .nan, .nan, 0, 0.01, .nan, .nan, 0.2, 0.02, .nan, .nan, 0.3]
        let f = StudySummary.metricFigures(Self.r, rows: 3, metrics: Self.metrics, kinds: Self.kinds, kl: kl, ranks: [1, 5, 3, -1])
        #expect(f.byTask.count == 2 && abs(f.byTask[0] - 0.9) < 1e-12 && abs(f.byTask[1] - 1.0) < 1e-12)
        #expect(f.learned.map { abs($0 - 0.95) < 1e-12 } == true)
        #expect(f.learnedMetric == "mixed")
        #expect(f.nll.map { abs($0 - 0.5) < 1e-12 } == true, "the text skill's NLL rose 0.5 nats: +0.5")
        #expect(f.probe.map { abs($0 - 0.75) < 1e-12 } == true)
        #expect(f.kl == 0.02, "KL of the skills after the last task; the task's own KL is left out")
        #expect(f.rankMedian == 3 && f.rankMax == 5, "a diverged site's −1 is left out")
    }

    @Test("one shared task metric is named; no text or probe skill leaves those figures nil")
    func sharedMetric() {
        let f = StudySummary.metricFigures([0.5, 0.1, 0.4, 0.9], rows: 2, metrics: [.exactMatch, .exactMatch], kinds: ["skill", "task"],
                                           kl: nil, ranks: [])
        #expect(f.learnedMetric == "exact_match" && f.nll == nil && f.probe == nil && f.kl == nil && f.rankMedian == nil)
        #expect(f.learned.map { abs($0 - 0.8) < 1e-12 } == true)
    }

    @Test("the printed table: a learned column per task in its unit, a retention column per probe, the 4-bit base's line for QLoRA")
    func printedTable() {
        var row = StudySummary.Row(label: "qlora", method: "qlora", seeds: 2, justTrainedAccuracy: 0.2, finalTaskAccuracy: 0.1,
                                   baseSkillRetention: nil, wallTime: 300, diverged: 0)
        row.learnedGain = 0.5; row.learnedMetric = "mixed"; row.learnedByTask = [0.3, 0.7]
        row.taskLabels = ["capitals-edit (exact_match)", "shakespeare (mean_nll)"]
        row.generalTextNLLIncrease = -0.2; row.probeRetention = 0.8; row.probeRetentionBySkill = [0.9, 0.7]
        row.probeNames = ["probe", "probe-edited"]; row.klFromBase = 0.5; row.deltaRank90Median = 4; row.deltaRank90Max = 7
        row.quantizedBaseNLLIncrease = 0.05; row.quantizedBaseProbeRetention = 0.95
        let text = StudySummary.table([row])
        let header = text.split(separator: "\n")[0]
        for column in ["learned: capitals-edit (exact_match)", "learned: shakespeare (mean_nll)", "retention: probe", "retention: probe-edited", "ΔW rank90 med/max"] {
            #expect(header.contains(column), "\(column)")
        }
        #expect(!header.contains("just trained"))
        #expect(text.contains("0.300") && text.contains("0.700") && text.contains("-0.200") && text.contains("4/7"))
        #expect(text.contains("qlora: its 4-bit base alone, before any step: text ΔNLL +0.050, probe retention 0.950"))
    }
}
