import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// What a valid study file turns into: sweeps, seeds, overrides, defaults and arithmetic.
@Suite("Study parsing")
struct StudyParsingTests {
    typealias F = StudyFixtures

    @Test func validStudyKeepsItsTextAndOrder() throws {
        let study = try F.load(F.valid)
        #expect(study.text == F.valid)
        #expect(study.name == "test-study")
        #expect(study.tasks.map(\.name) == ["reverse", "mod7"])
        #expect(study.tasks[1].parameters == ["modulus": .int(7)])
        #expect(study.tasks[1].keyPath == "tasks[1]" && study.tasks[1].line == 11)
        #expect(study.base.skills.map(\.name) == ["copy", "addition"])
        #expect(study.base.skills[1].parameters == ["digits": .int(2)])
        #expect(study.runs.map(\.label) == ["full", "lora r=1", "lora r=4"])
        #expect(study.output == "results/test.h5")
    }

    @Test func sweepIsTheCartesianProductInDocumentOrder() throws {
        let study = try F.load(F.valid(replacing: "r: [1, 4], lora_alpha: 16",
                                       with: "r: [1, 4, 16], use_rslora: [true, false], lora_alpha: 16"))
        let lora = study.runs.filter { $0.methodName == "lora" }
        #expect(lora.map(\.label) == [
            "lora r=1 use_rslora=true", "lora r=1 use_rslora=false", "lora r=4 use_rslora=true",
            "lora r=4 use_rslora=false", "lora r=16 use_rslora=true", "lora r=16 use_rslora=false",
        ])
        let configs = lora.map { $0.configuration as! FakeLoRAConfiguration }
        #expect(configs.map(\.r) == [1, 1, 4, 4, 16, 16])
        #expect(configs.map(\.useRslora) == [true, false, true, false, true, false])
        #expect(configs.allSatisfy { $0.loraAlpha == 16 })
        #expect(lora[3].sweep.map(\.key) == ["r", "use_rslora"])
    }

    @Test func listForAListTypedFieldIsOneValueAndAListOfListsSweepsIt() throws {
        let one = try F.load(F.valid(replacing: "lora_alpha: 16", with: "target_modules: [q, k, v]"))
        #expect(one.runs.map(\.label) == ["full", "lora r=1", "lora r=4"])
        #expect(one.runs.allSatisfy { ($0.configuration as? FakeLoRAConfiguration)?.targetModules ?? ["q", "k", "v"] == ["q", "k", "v"] })

        let swept = try F.load(F.valid(replacing: "r: [1, 4], lora_alpha: 16", with: "r: 4, target_modules: [[q, v], [fc]]"))
        #expect(swept.runs.map(\.label) == ["full", "lora target_modules=q+v", "lora target_modules=fc"])
        #expect((swept.runs[2].configuration as! FakeLoRAConfiguration).targetModules == ["fc"])
    }

    @Test func overridesAndProtocolCanBeSwept() throws {
        let study = try F.load(F.valid(replacing: "{method: full, lr: 3.0e-4}",
                                       with: "{method: full, lr: [1.0e-4, 3.0e-4], protocol: [sequential, per-task]}"))
        let full = study.runs.filter { $0.methodName == "full" }
        #expect(full.map(\.label) == ["full lr=0.0001 protocol=sequential", "full lr=0.0001 protocol=per-task",
                                      "full lr=0.0003 protocol=sequential", "full lr=0.0003 protocol=per-task"])
        #expect(full.map(\.fineTuningProtocol) == [.sequential, .perTask, .sequential, .perTask])
        #expect(full.map(\.overrides.learningRate) == [1e-4, 1e-4, 3e-4, 3e-4])
    }

    @Test(arguments: [("seeds: 3", [0, 1, 2]), ("seeds: [7, 3]", [7, 3]), ("seeds: 1", [0])])
    func seedsAreAListOrACount(line: String, expected: [Int]) throws {
        let study = try F.load(F.valid(replacing: "seeds: [0]", with: line))
        #expect(study.seeds == expected)
    }

    @Test func methodOverridesWinOverTaskOverridesWhichWinOverTraining() throws {
        let study = try F.load(F.valid(replacing: "{method: full, lr: 3.0e-4}", with: "{method: full, lr: 3.0e-4, batch: 4}"))
        let full = study.runs[0], lora = study.runs[1]
        let reverse = study.tasks[0], mod7 = study.tasks[1]
        #expect(full.training(for: reverse, defaults: study.training)
                == TrainingSettings(steps: 50, learningRate: 3e-4, batch: 4, warmup: 5))
        #expect(full.training(for: mod7, defaults: study.training)
                == TrainingSettings(steps: 80, learningRate: 3e-4, batch: 4, warmup: 5))
        #expect(lora.training(for: mod7, defaults: study.training)
                == TrainingSettings(steps: 80, learningRate: 1e-3, batch: 8, warmup: 5))
        #expect(study.tasks[1].overrides == TrainingOverrides(steps: 80))
    }

    @Test func omittedKeysTakeTheirDocumentedDefaults() throws {
        let minimal = """
            name: minimal
            model: {d_model: 32, n_layers: 1, n_heads: 2, d_ff: 64, context_length: 16}
            base:
              pretrain: {steps: 10, lr: 1.0e-3, batch: 4}
              skills: [{kind: copy}]
            training: {steps: 5, lr: 1.0e-3, batch: 2}
            tasks: [{kind: reverse}]
            methods: [{method: bitfit}]
            """
        let study = try F.load(minimal)
        #expect(study.seeds == [0])
        #expect(study.model.vocabSize == nil)
        #expect(study.evaluation == EvaluationSettings(testSize: 200, batch: 64))
        #expect(study.training == TrainingSettings(steps: 5, learningRate: 1e-3, batch: 2, warmup: 0,
                                                  schedule: .cosine, weightDecay: 0, maxGradNorm: 1.0))
        #expect(study.tasks[0].name == "reverse")
        #expect(study.runs[0].fineTuningProtocol == .sequential)
        #expect(study.runs[0].label == "bitfit")
        #expect(study.runs[0].overrides.isEmpty)
        #expect(study.output == "results/minimal.h5")
        #expect(try study.model.modelConfig(vocabularySize: 40).vocabSize == 40)
    }

    @Test func explicitTrainingKeysAreRead() throws {
        let study = try F.load(F.valid(replacing: "training: {steps: 50, lr: 1.0e-3, batch: 8, warmup: 5}",
            with: "training: {steps: 50, lr: 1.0e-3, batch: 8, warmup: 5, schedule: constant, weight_decay: 0.1, max_grad_norm: 0}"))
        #expect(study.training.schedule == .constant)
        #expect(study.training.weightDecay == 0.1)
        #expect(study.training.maxGradNorm == nil)
    }

    @Test func labelReplacesTheMethodNameInRunLabels() throws {
        let study = try F.load(F.valid(replacing: "{method: lora, r: [1, 4]", with: "{method: lora, label: low, r: [1, 4]"))
        #expect(study.runs.map(\.label) == ["full", "low r=1", "low r=4"])
    }

    @Test func existingCheckpointResolvesAgainstTheWorkingDirectory() throws {
        let dir = URL(fileURLWithPath: try F.write("placeholder", as: "base.h5")).deletingLastPathComponent().path
        try HDF5Transaction.write(to: URL(fileURLWithPath: dir + "/base.h5")) { try $0.setAttribute("kind", "base") }
        let study = try F.load(F.valid(
            replacing: "  pretrain: {steps: 100, lr: 3.0e-3, batch: 16, warmup: 10, schedule: cosine}",
            with: "  checkpoint: base.h5"), workingDirectory: dir)
        #expect(study.base.source == .checkpoint(path: dir + "/base.h5"))
        #expect(study.arithmetic.pretrainingTokensPerSeed == 0)
    }

    @Test func checkpointThatIsNotAWorkbenchFileIsRefusedAtParse() throws {
        let dir = URL(fileURLWithPath: try F.write("not really hdf5", as: "notes.h5")).deletingLastPathComponent().path
        let e = F.error(loading: F.valid(
            replacing: "  pretrain: {steps: 100, lr: 3.0e-3, batch: 16, warmup: 10, schedule: cosine}",
            with: "  checkpoint: notes.h5"), workingDirectory: dir)
        #expect(e?.keyPath == "base.checkpoint")
        #expect(e?.description.contains("is not a workbench base file") == true)
        #expect(e?.description.contains("a .gguf file or a Hugging Face LLaMA folder") == true)
    }

    @Test func nonUTF8StudyFileNamesTheByteLineAndColumn() throws {
        let path = try F.write("name: x\nseeds: 1\n", as: "latin1.yaml")
        var bytes = Array("name: x\nseeds: 1 # caf".utf8)
        bytes += [0xE9, 0x0A]   // Latin-1 é: not UTF-8
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect {
            try Study.load(contentsOf: path)
        } throws: { error in
            (error as? StudyError)?.description.contains("not UTF-8 text: byte 22 (0xE9) at line 2, column 15") == true
        }
        #expect(Study.firstInvalidUTF8(Data("ok é ✓ 𝄞".utf8)).offset == "ok é ✓ 𝄞".utf8.count, "valid multi-byte text passes")
        #expect(Study.firstInvalidUTF8(Data([0x61, 0xED, 0xA0, 0x80])).offset == 2, "a UTF-16 surrogate is not UTF-8")
        #expect(Study.firstInvalidUTF8(Data([0xC0, 0xAF])).offset == 0, "an overlong lead byte")
    }

    /// T = 32, training B = 8 → 256 tokens/step; reverse 50 steps + mod7 80 steps = 130 steps
    /// → 33,280 tokens per configuration; pretraining 100 × 16 × 32 = 51,200.
    @Test func derivedArithmeticMatchesTheHandCount() throws {
        let study = try F.load(F.valid(replacing: "seeds: [0]", with: "seeds: 2"))
        let a = study.arithmetic
        #expect(a.tokensPerStep == 256)
        #expect(a.configurations == 3)
        #expect(a.runs == 3 * 2 * 2)
        #expect(a.pretrainingTokensPerSeed == 51_200)
        #expect(a.trainingTokensPerRun == ["full": 33_280, "lora r=1": 33_280, "lora r=4": 33_280])
        #expect(a.totalTrainingTokens == 2 * (51_200 + 3 * 33_280))
        // 2 seeds × 3 configurations × 2 tasks evaluated after, × 4 tasks and skills × 20 × 32 tokens.
        #expect(a.evaluationTokens == 2 * 3 * 2 * 4 * 20 * 32)
        #expect(a.estimatedSeconds(tokensPerSecond: 1000) == Double(a.totalTrainingTokens + a.evaluationTokens / 3) / 1000)
        #expect(a.description.contains("tokens per step: 256"))
    }

    @Test func methodStepsAndBatchOverridesChangeTheTokenCount() throws {
        let study = try F.load(F.valid(replacing: "{method: full, lr: 3.0e-4}", with: "{method: full, steps: 60, batch: 4}"))
        #expect(study.trainingTokens(for: study.runs[0]) == (60 + 60) * 4 * 32)
    }
}

@Suite("Study files: integer-list fields")
struct StudyIntegerListTests {
    @Test("layers_to_transform takes a list of integers as one value; a list of lists sweeps it; a bare integer is refused")
    func layersToTransform() throws {
        try withTemporaryFolder { folder in
            let one = try writeStudy(tinyStudyText(methods: "  - {method: lora, r: 2, layers_to_transform: [0]}\n"), in: folder)
            #expect(one.runs.map(\.label) == ["lora"])
            let lora = try #require(one.runs.first?.configuration as? LoRA.Configuration)
            #expect(lora.hyperparameters.layersToTransform == [0])
            let swept = try writeStudy(tinyStudyText(methods: "  - {method: lora, r: 2, layers_to_transform: [[0], [0, 0]]}\n"), in: folder)
            #expect(swept.runs.map(\.label) == ["lora layers_to_transform=0", "lora layers_to_transform=0+0"])
            #expect(throws: StudyError.self) {
                try writeStudy(tinyStudyText(methods: "  - {method: lora, r: 2, layers_to_transform: 0}\n"), in: folder)
            }
        }
    }
}
