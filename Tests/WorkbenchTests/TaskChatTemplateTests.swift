import Foundation
import Testing
@testable import Workbench

/// SmolLM2's ChatML template against transformers' `apply_chat_template` of the same Jinja text
/// (fixture: Tests/Fixtures/make_chat_template_fixture.py).
@Suite struct TaskChatTemplateTests {
    struct Fixture: Decodable {
        struct Case: Decodable { var user: String; var answer: String; var prompt: String; var ids: [Int] }
        var template: String
        var cases: [Case]
    }

    static let fixture = Result {
        try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tokenizer/smollm2_chat_template.json")))
    }

    @Test("the model's Jinja template is recognised as ChatML with its default system turn, and renders as transformers does")
    func rendersLikeTransformers() throws {
        let fixture = try Self.fixture.get()
        let template = try #require(ChatTemplate(jinja: fixture.template))
        #expect(template.defaultSystem == "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        for c in fixture.cases { #expect(template.prompt(user: c.user) == c.prompt, "\(c.user)") }
        #expect(ChatML.prompt(user: fixture.cases[0].user) == fixture.cases[0].prompt)
    }

    @Test("a template that is not ChatML is not recognised; one without a default system turn renders without it")
    func otherTemplates() {
        #expect(ChatTemplate(jinja: "{% for m in messages %}[INST] {{ m['content'] }} [/INST]{% endfor %}") == nil)
        let plain = ChatTemplate(jinja: "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n'}}{% endfor %}")
        #expect(plain?.defaultSystem == nil)
        #expect(plain?.prompt(user: "hi") == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test("a chat task's examples become prompt (template) → answer + <|im_end|>, the ids transformers' tokenizer gives", RealData.model)
    func chatTaskTokenIDs() throws {
        let fixture = try Self.fixture.get()
        let template = try #require(ChatTemplate(jinja: fixture.template))
        let tokenizer = try ByteLevelBPETokenizer(gguf: try GGUFFile(path: try PackageCache.resolve(.smollm2_135m_instruct).path))
        #expect(template.fits(tokenizer))
        let task = ChatTask(CounterfactualCapitalsTask(editSeed: 1, count: 3), template: template)
        let example = task.examples(split: .test, count: 1, seed: 0)[0]
        #expect(example.prompt.hasPrefix("<|im_start|>system\n") && example.endsWithMarker)
        let c = fixture.cases[0]
        let wrapped = ChatTask(JSONLStub(example: Example(prompt: c.user, answer: c.answer)), template: template)
        let batcher = try Batcher(task: wrapped, examples: wrapped.examples(split: .test, count: 1, seed: 0), batchSize: 1,
                                  contextLength: 128, tokenizer: tokenizer)
        batcher.fillSequential(startingAt: 0)
        let sequence = batcher.tokens.prefix(c.ids.count - 1).map(Int.init) + [Int(batcher.targets[c.ids.count - 2])]
        #expect(sequence == c.ids)
        #expect(Int(tokenizer.endOfAnswerID) == c.ids.last!, "the answer ends with <|im_end|>")
    }

    /// One fixed example as a task.
    struct JSONLStub: Task {
        var example: Example
        var name: String { "stub" }
        var kind: String { "stub" }
        var testSize: Int { 1 }
        func examples(split: TaskSplit, count: Int, seed: UInt64) -> [Example] { [example] }
    }
}
