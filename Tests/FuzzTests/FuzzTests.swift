import Foundation
import Testing

/// Hostile inputs of every kind the workbench reads, run through the real executable: none may
/// end in a signal, run past its time limit without printing progress, end in anything but exit
/// 0 or exit 1 with exactly one error line, or (refused) leave a file behind.
///
/// `make test` runs a bounded campaign of each kind; `make fuzz` a long one
/// (`WORKBENCH_FUZZ_CASES`, `WORKBENCH_FUZZ_SEED`). Failing cases are kept under
/// `.build/fuzz-failures/`.
@Suite("Fuzz harness: mutated inputs never crash, hang or fail untidily")
struct FuzzTests {
    static func expectNoFailures(_ tally: FuzzTally) {
        #expect(tally.failureCount == 0, Comment(rawValue: tally.summary + "\n" + tally.failures.prefix(20).joined(separator: "\n")))
        #expect(tally.counts[.crashed, default: 0] == 0)
        #expect(tally.counts[.hung, default: 0] == 0)
    }

    @Test("study files: values, keys, lines and bytes mutated; data files damaged")
    func studyFiles() throws {
        let tally = try FuzzCampaign.run(kind: "study", defaultCases: 120, StudyFileMutator.runCase)
        Self.expectNoFailures(tally)
        // The mutations must reach both validation and training.
        #expect(tally.counts[.refused, default: 0] > 0 && tally.counts[.succeeded, default: 0] > 0, "\(tally.summary)")
    }

    @Test("safetensors checkpoints: header length, entries, header text and data mutated")
    func safetensors() throws {
        let tally = try FuzzCampaign.run(kind: "safetensors", defaultCases: 150, SafetensorsMutator.runCase)
        Self.expectNoFailures(tally)
        #expect(tally.counts[.refused, default: 0] > 0 && tally.counts[.succeeded, default: 0] > 0, "\(tally.summary)")
    }

    @Test("GGUF models: every header field, string bytes, the data section mutated")
    func gguf() throws {
        let tally = try FuzzCampaign.run(kind: "gguf", defaultCases: 150, GGUFMutator.runCase)
        Self.expectNoFailures(tally)
        #expect(tally.counts[.refused, default: 0] > 0 && tally.counts[.succeeded, default: 0] > 0, "\(tally.summary)")
    }

    @Test("peft adapter folders: adapter_config.json and the adapter's tensors mutated, files removed or replaced")
    func adapterConfigs() throws {
        let tally = try FuzzCampaign.run(kind: "adapter", defaultCases: 120, AdapterConfigMutator.runCase)
        Self.expectNoFailures(tally)
        #expect(tally.counts[.refused, default: 0] > 0 && tally.counts[.succeeded, default: 0] > 0, "\(tally.summary)")
    }

    @Test("results files: index and part files corrupted, then read by every command and resumed")
    func resultsFiles() throws {
        let tally = try FuzzCampaign.run(kind: "results", defaultCases: 100, ResultsFileCorrupter.runCase)
        Self.expectNoFailures(tally)
        #expect(tally.counts[.refused, default: 0] > 0 && tally.counts[.succeeded, default: 0] > 0, "\(tally.summary)")
    }
}
