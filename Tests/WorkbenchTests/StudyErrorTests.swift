import Foundation
import Testing
@testable import Workbench

/// Every way a study file can be wrong is reported before training, naming file, key and line.
@Suite("Study errors")
struct StudyErrorTests {
    typealias F = StudyFixtures

    @Test func unknownTopLevelKeySuggestsTheClosestKey() {
        let e = F.error(loading: F.valid(replacing: "evaluation: {", with: "evalution: {"))
        F.expect(e, kind: .unknownKey, keyPath: "evalution", line: 8, mentions: ["did you mean `evaluation`?"])
    }

    @Test func unknownMethodFieldSuggestsThePeftField() {
        let e = F.error(loading: F.valid(replacing: "lora_alpha: 16", with: "lora_alhpa: 16"))
        F.expect(e, kind: .unknownKey, keyPath: "methods[1].lora_alhpa", line: 14, mentions: ["did you mean `lora_alpha`?"])
    }

    @Test func unknownKeyFarFromEveryKeyListsTheAllowedKeys() {
        let e = F.error(loading: F.valid(replacing: "{method: full, lr", with: "{method: full, colour: red, lr"))
        F.expect(e, kind: .unknownKey, keyPath: "methods[0].colour", line: 13, mentions: ["allowed: method, protocol"])
        #expect(e?.description.contains("did you mean") == false)
    }

    @Test func wrongTypeNamesExpectedAndActual() {
        let e = F.error(loading: F.valid(replacing: "training: {steps: 50,", with: "training: {steps: many,"))
        F.expect(e, kind: .wrongType, keyPath: "training.steps", line: 7, mentions: ["expected an integer", "\"many\""])
    }

    @Test func wrongTypeOfAMethodFieldComesFromItsDecoder() {
        let e = F.error(loading: F.valid(replacing: "lora_alpha: 16", with: "lora_alpha: sixteen"))
        F.expect(e, kind: .invalidConfiguration, keyPath: "methods[1].lora_alpha", line: 14, mentions: ["lora: `lora_alpha` must be a number"])
    }

    @Test func fractionalIntegerFieldIsNamedNotCalledInvalidJSON() {
        let e = F.error(loading: F.valid(replacing: "r: [1, 4]", with: "r: 8.5"))
        F.expect(e, kind: .invalidConfiguration, keyPath: "methods[1].r", line: 14, mentions: ["lora: `r` must be an integer, got 8.5"])
        #expect(e?.description.contains("JSON") == false)
    }

    @Test func missingRequiredKeyPointsAtItsMapping() {
        let e = F.error(loading: F.valid(replacing: " d_ff: 256,", with: ""))
        F.expect(e, kind: .missingKey, keyPath: "model.d_ff", line: 3, mentions: ["missing required key `d_ff`"])
    }

    @Test func missingStudyFileNamesThePath() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-study.yaml").path
        #expect {
            try Study.load(contentsOf: path, catalog: F.catalog)
        } throws: { error in
            guard let e = error as? StudyError else { return false }
            return e.kind == .unreadableFile && e.description.contains("no-such-study.yaml") && e.description.contains("no such file")
        }
    }

    @Test func yamlSyntaxErrorCarriesTheParsersLine() {
        let e = F.error(loading: F.valid(replacing: "  - {name: mod7, kind", with: "  - {name: [mod7, kind"))
        guard let e else { return }
        #expect(e.kind == .syntax)
        #expect(e.line == 11, "\(e)")
        #expect(e.description.contains("bad-study.yaml:11:"), "\(e)")
        #expect(e.description.contains("YAML syntax error"), "\(e)")
    }

    @Test func unknownMethodListsTheKnownOnes() {
        let e = F.error(loading: F.valid(replacing: "method: lora,", with: "method: lorra,"))
        F.expect(e, kind: .unknownMethod, keyPath: "methods[1].method", line: 14,
                 mentions: ["did you mean \"lora\"?", "known methods: full, bitfit, lora"])
    }

    @Test func unknownProtocolListsTheKnownOnes() {
        let e = F.error(loading: F.valid(replacing: "{method: full,", with: "{method: full, protocol: parallel,"))
        F.expect(e, kind: .unknownProtocol, keyPath: "methods[0].protocol", line: 13,
                 mentions: ["sequential, per-task, merge"])
    }

    @Test func emptyTaskNameIsRejected() {
        let e = F.error(loading: F.valid(replacing: "{name: mod7,", with: "{name: \"\","))
        F.expect(e, kind: .invalidValue, keyPath: "tasks[1].name", line: 11, mentions: ["must not be empty"])
    }

    @Test func duplicateTaskNameNamesTheFirstUse() {
        let e = F.error(loading: F.valid(replacing: "{name: mod7,", with: "{name: reverse,"))
        F.expect(e, kind: .duplicateName, keyPath: "tasks[1].name", line: 11, mentions: ["tasks[0] (line 10)"])
    }

    @Test func duplicateSkillsWithoutNamesAreRejected() {
        let e = F.error(loading: F.valid(replacing: "{kind: addition, digits: 2}", with: "{kind: copy, length: 8}"))
        F.expect(e, kind: .duplicateName, keyPath: "base.skills[1]", line: 6, mentions: ["distinct `name`"])
    }

    @Test func rankLargerThanTheMatrixIsReportedAtTheSweptValue() {
        let e = F.error(loading: F.valid(replacing: "r: [1, 4]", with: "r: [1, 128]"))
        F.expect(e, kind: .invalidConfiguration, keyPath: "methods[1].r[1]", line: 14,
                 mentions: ["lora: `r` (128) exceeds", "d_model 64"])
    }

    @Test(arguments: ["lora", "dora", "qlora"])
    func registeredLowRankMethodsRejectARankLargerThanTheMatrix(method: String) throws {
        let yaml = F.valid(replacing: "{method: lora, r: [1, 4], lora_alpha: 16}", with: "{method: \(method), r: 65, lora_alpha: 16}")
        do {
            _ = try Study.load(contentsOf: try F.write(yaml), catalog: .registry, workingDirectory: "/")
            Issue.record("r = 65 on d_model 64 must be rejected")
        } catch let error as StudyError {
            F.expect(error, kind: .invalidConfiguration, keyPath: "methods[1].r", line: 14,
                     mentions: ["\(method): `r` = 65 exceeds min(in, out) = 64 of blocks.0.attn.q [64, 64]", "d_model 64"])
        }
    }

    @Test(arguments: [
        ("training: {steps: 50,", "training: {steps: 0,", "training.steps", 7),
        ("lr: 1.0e-3, batch: 8", "lr: 0.0, batch: 8", "training.lr", 7),
        ("lr: 1.0e-3, batch: 8", "lr: 1.0e-3, batch: -8", "training.batch", 7),
        ("modulus: 7, steps: 80", "modulus: 7, steps: 0", "tasks[1].steps", 11),
        ("{method: full, lr: 3.0e-4}", "{method: full, lr: -3.0e-4}", "methods[0].lr", 13),
        ("{method: full, lr: 3.0e-4}", "{method: full, batch: 0}", "methods[0].batch", 13),
        ("pretrain: {steps: 100,", "pretrain: {steps: -1,", "base.pretrain.steps", 5),
    ])
    func nonPositiveStepsLearningRateOrBatchIsRejected(old: String, new: String, keyPath: String, line: Int) {
        let e = F.error(loading: F.valid(replacing: old, with: new))
        F.expect(e, kind: .invalidValue, keyPath: keyPath, line: line, mentions: ["must be a positive"])
    }

    @Test func stepsOverrideShorterThanWarmupIsRejected() {
        let e = F.error(loading: F.valid(replacing: "modulus: 7, steps: 80", with: "modulus: 7, steps: 3"))
        F.expect(e, kind: .invalidValue, keyPath: "tasks[1].steps", line: 11, mentions: ["training.warmup (5)"])
    }

    @Test(arguments: [("seeds: [0]", "seeds: []"), ("seeds: [0]", "seeds: 0")])
    func seedsMustNotBeEmpty(old: String, new: String) {
        let e = F.error(loading: F.valid(replacing: old, with: new))
        F.expect(e, kind: .invalidValue, keyPath: "seeds", line: 2)
    }

    @Test(arguments: ["seeds: 9223372036854775807", "seeds: 10001"])
    func seedCountIsBoundedBeforeAnythingIsAllocated(seeds: String) {
        let e = F.error(loading: F.valid(replacing: "seeds: [0]", with: seeds))
        F.expect(e, kind: .invalidValue, keyPath: "seeds", line: 2, mentions: ["at most 10000"])
    }

    @Test func vocabularyBelowTheCharacterSetIsRefusedAtItsKey() {
        let e = F.error(loading: F.valid(replacing: "d_ff: 256,", with: "d_ff: 256, vocab_size: 1,"))
        F.expect(e, kind: .invalidValue, keyPath: "model.vocab_size", line: 3, mentions: ["below the tasks' character vocabulary of 98 tokens"])
    }

    @Test(arguments: [".", ".."])
    func dotNamesAreRefusedBecauseTheyNameGroups(name: String) {
        let task = F.error(loading: F.valid(replacing: "{name: reverse, kind: reverse}", with: "{name: \"\(name)\", kind: reverse}"))
        F.expect(task, kind: .invalidValue, keyPath: "tasks[0].name", line: 10, mentions: ["must not be \".\" or \"..\""])
        let label = F.error(loading: F.valid(replacing: "{method: full, lr: 3.0e-4}", with: "{method: full, lr: 3.0e-4, label: \"\(name)\"}"))
        F.expect(label, kind: .invalidValue, keyPath: "methods[0].label", line: 13, mentions: ["must not be \".\" or \"..\""])
    }

    @Test func cellCountIsBounded() {
        let sweep = F.valid(replacing: "seeds: [0]", with: "seeds: 10000")
            .replacingOccurrences(of: "r: [1, 4]", with: "r: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]")
        let e = F.error(loading: sweep)
        F.expect(e, kind: .invalidValue, keyPath: "seeds", line: 2, mentions: ["10000 seeds × 11 configurations = 110000 cells, more than the 100000"])
    }

    @Test func aLossCurveTooLargeForMemoryIsRefusedNotAllocated() {
        let text = F.valid(replacing: "training: {steps: 50,", with: "training: {steps: 2147483647,")
        #expect {
            try Study.parse(yaml: text, file: "study.yaml", memoryLimit: 1_073_741_824)
        } throws: { error in
            "\(error)".contains("loss curves 8.00 GiB")
        }
    }

    @Test func duplicateSeedIsRejected() {
        let e = F.error(loading: F.valid(replacing: "seeds: [0]", with: "seeds: [0, 1, 0]"))
        F.expect(e, kind: .duplicateName, keyPath: "seeds[2]", line: 2, mentions: ["seed 0 is listed twice"])
    }

    @Test func missingCheckpointFileIsRejected() {
        let e = F.error(loading: F.valid(
            replacing: "  pretrain: {steps: 100, lr: 3.0e-3, batch: 16, warmup: 10, schedule: cosine}",
            with: "  checkpoint: bases/missing-base.h5"))
        F.expect(e, kind: .missingCheckpoint, keyPath: "base.checkpoint", line: 5, mentions: ["missing-base.h5"])
    }

    @Test func pretrainAndCheckpointTogetherAreRejected() {
        let e = F.error(loading: F.valid(replacing: "  skills:", with: "  checkpoint: base.h5\n  skills:"))
        F.expect(e, kind: .invalidValue, keyPath: "base.checkpoint", line: 6, mentions: ["not both"])
    }

    @Test func headsThatDoNotDivideTheModelArePointedAt() {
        let e = F.error(loading: F.valid(replacing: "n_heads: 4", with: "n_heads: 5"))
        F.expect(e, kind: .invalidValue, keyPath: "model.n_heads", line: 3, mentions: ["divisible by n_heads (5)"])
    }

    @Test func duplicateRunLabelAsksForALabel() {
        let e = F.error(loading: F.valid(replacing: "{method: full, lr: 3.0e-4}", with: "{method: lora, r: [4, 8]}"))
        F.expect(e, kind: .duplicateName, keyPath: "methods[1]", line: 14, mentions: ["\"lora r=4\"", "methods[0]"])
    }

    @Test func duplicateKeyInAMappingIsRejected() {
        let e = F.error(loading: F.valid(replacing: "{method: full, lr: 3.0e-4}", with: "{method: full, lr: 3.0e-4, lr: 1.0e-4}"))
        guard let e else { return }
        #expect(e.kind == .duplicateKey)
        #expect(e.line == 13, "\(e)")
        #expect(e.description.contains("bad-study.yaml:13:"), "\(e)")
        #expect(e.description.contains("key `lr` is given twice"), "\(e)")
    }

    @Test func skillsMayNotOverrideTraining() {
        let e = F.error(loading: F.valid(replacing: "{kind: copy}", with: "{kind: copy, steps: 10}"))
        F.expect(e, kind: .unknownKey, keyPath: "base.skills[0].steps", line: 6, mentions: ["base.pretrain.steps"])
    }

    @Test func emptySweepIsRejected() {
        let e = F.error(loading: F.valid(replacing: "r: [1, 4]", with: "r: []"))
        F.expect(e, kind: .invalidValue, keyPath: "methods[1].r", line: 14, mentions: ["sweeps over nothing"])
    }
}
