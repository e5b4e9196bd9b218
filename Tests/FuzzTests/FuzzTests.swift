import Foundation
import Testing

/// The inputs the workbench reads, each with its mutator and its share of the bounded campaign.
enum FuzzKind: String, CaseIterable, CustomTestStringConvertible {
    /// Study files: values, keys, lines and bytes mutated; data files damaged.
    case study
    /// Safetensors checkpoints: header length, entries, header text and data mutated.
    case safetensors
    /// GGUF models: every header field, string bytes, the data section mutated.
    case gguf
    /// peft adapter folders: adapter_config.json and the adapter's tensors mutated, files removed or replaced.
    case adapter
    /// Results: index and part files corrupted, then read by every command and resumed.
    case results

    var testDescription: String { rawValue }

    /// Cases in `make test`'s bounded run (640 in all, about a minute on 2 cores).
    var boundedCases: Int {
        switch self {
        case .study, .adapter: 120
        case .safetensors, .gguf: 150
        case .results: 100
        }
    }

    func runCase(in folder: URL, random: inout FuzzRandom) throws -> [FuzzRunRecord] {
        switch self {
        case .study: try StudyFileMutator.runCase(in: folder, random: &random)
        case .safetensors: try SafetensorsMutator.runCase(in: folder, random: &random)
        case .gguf: try GGUFMutator.runCase(in: folder, random: &random)
        case .adapter: try AdapterConfigMutator.runCase(in: folder, random: &random)
        case .results: try ResultsFileCorrupter.runCase(in: folder, random: &random)
        }
    }
}

/// Hostile inputs of every kind the workbench reads, run through the real executable: none may
/// end in a signal, run past its time limit without printing progress, end in anything but exit
/// 0 or exit 1 with exactly one error line, or (refused) leave a file behind.
///
/// `make test` runs a bounded campaign of each kind; `make fuzz` a long one
/// (`WORKBENCH_FUZZ_CASES`, `WORKBENCH_FUZZ_SEED`). Failing cases are kept under
/// `.build/fuzz-failures/`.
@Suite("Fuzz harness: mutated inputs never crash, hang or fail untidily")
struct FuzzTests {
    @Test("no crash, no hang, one error line per refusal, nothing left behind", arguments: FuzzKind.allCases)
    func campaign(kind: FuzzKind) throws {
        let tally = try FuzzCampaign.run(kind: kind.rawValue, defaultCases: kind.boundedCases, kind.runCase)
        #expect(tally.failureCount == 0, Comment(rawValue: tally.summary + "\n" + tally.failures.prefix(20).joined(separator: "\n")))
        #expect(tally.counts[.crashed, default: 0] == 0 && tally.counts[.hung, default: 0] == 0)
        // The mutations must reach both the refusals and the successful runs behind them.
        #expect(tally.counts[.refused, default: 0] > 0 && tally.counts[.succeeded, default: 0] > 0, Comment(rawValue: tally.summary))
    }
}
