import Foundation
import Testing
@testable import Workbench

/// The studies shipped in `studies/` parse, and their comments' arithmetic holds.
///
/// Methods not yet registered in PEFTEngine on this branch (lora, qlora, dora, ia3, adapter,
/// prefix, prompt) are stood in for by test-only configurations with peft's field names
/// (`StudyFixtures.shippedCatalog`); registered methods always use their real types.
@Suite("Shipped studies")
struct StudyShippedFilesTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("studies")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.sorted()
    }

    static func load(_ file: String) throws -> Study {
        try Study.load(contentsOf: directory.appendingPathComponent(file).path, catalog: StudyFixtures.shippedCatalog)
    }

    @Test func theFourDocumentedStudiesAreShipped() {
        #expect(Set(Self.files).isSuperset(of: ["quickstart.yaml", "toy-quickstart.yaml", "forgetting-by-method.yaml",
                                                 "lowrank-hypothesis.yaml", "nf4-effect.yaml"]))
    }

    @Test(arguments: files)
    func everyShippedStudyParses(file: String) throws {
        let study = try Self.load(file)
        #expect(study.name + ".yaml" == file, "a study's name matches its file name")
        #expect(study.output == "results/\(study.name).h5")
        #expect(!study.runs.isEmpty && !study.tasks.isEmpty)
        let resolved = try Study.load(contentsOf: Self.directory.appendingPathComponent(file).path)
        // Every task and skill builds with its parameters (on the real model: when it and the
        // texts are in the cache; tests never fetch).
        if resolved.base.pretrained == nil || (RealData.modelCached && RealData.textsCached) {
            _ = try ResolvedStudy(resolved)
        }
    }

    /// 5 minutes at a cautious 100k token-equivalents/s (≈ 280k measured at 1 thread on this
    /// machine class: 20.2 M in 72 s of CPU, release, Cooperlake kernel).
    @Test func toyQuickstartFitsItsFiveMinuteBudget() throws {
        let study = try Self.load("toy-quickstart.yaml")
        let a = study.arithmetic
        #expect(Set(study.runs.map(\.methodName)) == ["full", "lora", "qlora", "dora", "ia3", "adapter", "prefix", "prompt", "bitfit"])
        #expect(study.tasks.count == 3 && study.seeds == [0])
        #expect(a.tokensPerStep == 1_024)
        #expect(a.pretrainingTokensPerSeed == 6_000 * 1_024)
        #expect(a.totalTrainingTokens == 6_000 * 1_024 + 9 * 3 * 500 * 1_024)
        #expect(a.evaluationTokens == 604_800)
        #expect(a.estimatedSeconds(tokensPerSecond: 100_000) < 300)
    }

    /// The main job runs on the real model: SmolLM2 from its known name, full fine-tuning, LoRA and
    /// QLoRA on one chat task, forgetting measured on held-out text and the knowledge probe.
    @Test func quickstartRunsOnSmolLM2() throws {
        let study = try Self.load("quickstart.yaml")
        #expect(study.base.pretrained == .known(.smollm2_135m_instruct))
        #expect(study.model.pretrained == KnownModel.smollm2_135m_instruct.config && study.model.contextLength == 64)
        #expect(study.runs.map(\.methodName) == ["full", "lora", "qlora"])
        #expect(study.base.skills.map(\.kind) == ["corpus", "corpus", "knowledge_probe"])
        #expect(study.tasks.map(\.parameters["chat"]) == [.bool(true)])
        #expect(study.arithmetic.pretrainingTokensPerSeed == 0)
    }

    @Test(arguments: [("forgetting-by-method.yaml", 9, 4), ("lowrank-hypothesis.yaml", 9, 3), ("nf4-effect.yaml", 6, 3)])
    func realisticStudiesHaveThreeSeedsAndTheConfigurationsTheirCommentsCount(file: String, configurations: Int, tasks: Int) throws {
        let study = try Self.load(file)
        #expect(study.seeds == [0, 1, 2])
        #expect(study.arithmetic.configurations == configurations)
        #expect(study.arithmetic.runs == configurations * 3 * tasks)
        #expect(study.arithmetic.tokensPerStep == 2_048)
    }

    @Test func lowRankStudySweepsTheDocumentedRanks() throws {
        let study = try Self.load("lowrank-hypothesis.yaml")
        #expect(study.runs.map(\.label) == ["full lr=0.001", "full lr=0.0003"] + [1, 2, 4, 8, 16, 32, 64].map { "lora r=\($0)" })
        #expect(study.runs.allSatisfy { $0.fineTuningProtocol == .perTask })
    }

    @Test func nf4StudyCrossesRankWithDoubleQuantization() throws {
        let study = try Self.load("nf4-effect.yaml")
        #expect(study.runs.map(\.label) == [
            "lora r=8", "lora r=32",
            "qlora r=8 bnb_4bit_use_double_quant=true", "qlora r=8 bnb_4bit_use_double_quant=false",
            "qlora r=32 bnb_4bit_use_double_quant=true", "qlora r=32 bnb_4bit_use_double_quant=false",
        ])
    }
}
