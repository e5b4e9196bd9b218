import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// A study on a pretrained model: `base.model` names a known model, `base.checkpoint` a GGUF file
/// or an HF folder; the `model` block then only sets the context length, and every method is
/// checked against the checkpoint's LLaMA shape when the study is parsed (no download needed).
@Suite struct StudyPretrainedBaseTests {
    static func study(base: String = "model: smollm2-135m-instruct", model: String = "{context_length: 64}",
                      methods: String = "[{method: lora, r: 8, lora_alpha: 16, target_modules: [q_proj, v_proj]}]") -> String {
        """
        name: real
        model: \(model)
        base:
          \(base)
          skills: [{kind: knowledge_probe}]
        training: {steps: 2, lr: 1.0e-3, batch: 2}
        tasks: [{kind: counterfactual_capitals, count: 4, chat: true}]
        methods: \(methods)
        """
    }

    static func load(_ text: String, workingDirectory: String = "/") throws -> Study {
        try Study.parse(yaml: text, file: "real.yaml", workingDirectory: workingDirectory)
    }

    @Test("base.model: the known model's shape, cut to the study's context length")
    func knownModel() throws {
        let study = try Self.load(Self.study())
        #expect(study.base.pretrained == .known(.smollm2_135m_instruct))
        let config = try study.model.modelConfig(vocabularySize: 0)
        #expect(config == ModelConfig.smolLM2(contextLength: 64))
    }

    @Test("the known model's stated shape is its GGUF header's", RealData.model)
    func knownShapeIsTheFiles() throws {
        let gguf = try GGUFFile(path: try PackageCache.resolve(.smollm2_135m_instruct).path)
        #expect(try LlamaCheckpoint(gguf: gguf).config == KnownModel.smollm2_135m_instruct.config)
    }

    @Test("the model block may only set context_length: a shape key is named, with the reason")
    func shapeKeysAreRefused() {
        #expect {
            try Self.load(Self.study(model: "{d_model: 64, context_length: 64}"))
        } throws: { error in
            let e = error as? StudyError
            return e?.keyPath == "model.d_model" && e?.message.contains("comes from its checkpoint") == true
        }
        #expect(throws: StudyError.self) { try Self.load(Self.study(model: "{}")) }
    }

    @Test("an unknown model name lists the known ones; two sources at once are refused")
    func unknownAndConflictingSources() {
        #expect {
            try Self.load(Self.study(base: "model: gpt2"))
        } throws: { error in
            (error as? StudyError).map { $0.keyPath == "base.model" && $0.message.contains("smollm2-135m-instruct") } == true
        }
        #expect {
            try Self.load(Self.study(base: "model: smollm2-135m-instruct\n  pretrain: {steps: 1, lr: 0.1, batch: 1}"))
        } throws: { error in
            (error as? StudyError)?.message.contains("not both pretrain and model") == true
        }
    }

    @Test("methods are checked against the LLaMA shape: an attention module GPT-2 names differently is refused at parse time")
    func methodsCheckedAgainstTheCheckpoint() {
        #expect(throws: StudyError.self) {
            try Self.load(Self.study(methods: "[{method: lora, r: 8, target_modules: [c_attn]}]"))
        }
        #expect(throws: StudyError.self) { try Self.load(Self.study(methods: "[{method: bitfit}]")) }
    }

    @Test("base.checkpoint: a .gguf path or a folder with config.json is a pretrained base; a folder without it is refused")
    func checkpointPaths() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("pretrained-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect {
            try Self.load(Self.study(base: "checkpoint: \(folder.path)"))
        } throws: { error in
            (error as? StudyError)?.message.contains("without config.json") == true
        }
        let config = """
            {"model_type": "llama", "num_hidden_layers": 2, "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
             "intermediate_size": 128, "vocab_size": 300, "rope_theta": 10000.0, "rms_norm_eps": 1e-5, "tie_word_embeddings": true}
            """
        try config.write(to: folder.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let study = try Self.load(Self.study(base: "checkpoint: \(folder.path)"))
        #expect(study.base.pretrained == .folder(path: folder.path))
        #expect(study.model.pretrained?.kvHeads == 2 && study.model.dModel == 64)
    }

    @Test("a FIFO given as base.checkpoint is refused when the study is read, never opened")
    func fifoCheckpoint() throws {
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("fifo-\(getpid()).h5").path
        unlink(fifo)
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        #expect {
            try Self.load(Self.study(base: "checkpoint: \(fifo)"))
        } throws: { error in
            (error as? StudyError)?.message.contains("not a regular file") == true
        }
    }
}
