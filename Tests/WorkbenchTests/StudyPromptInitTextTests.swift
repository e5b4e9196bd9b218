import Foundation
import PEFTEngine
import Testing
@testable import Workbench

/// `prompt_tuning_init: TEXT` with peft's `prompt_tuning_init_text`: the text's characters,
/// repeated or truncated to `num_virtual_tokens` as peft does, start the soft prompt.
@Suite("Study: prompt tuning initialised from text")
struct StudyPromptInitTextTests {
    typealias F = StudyFixtures

    /// The fixture's line 13 (`methods[0]`) replaced by a prompt entry with `fields`.
    static func study(_ fields: String) -> String {
        F.valid(replacing: "{method: full, lr: 3.0e-4}", with: "{method: prompt, \(fields)}")
    }

    static func tokens(_ text: String) -> [Int] {
        text.map { Int(Vocabulary().token(for: $0)!) }
    }

    @Test(arguments: [(5, "abc"), (2, "abc"), (4, "sort: "), (1, "~ !")])
    func textBecomesOneTokenIDPerCharacter(virtualTokens: Int, text: String) throws {
        let study = try F.load(Self.study("num_virtual_tokens: \(virtualTokens), prompt_tuning_init: TEXT, prompt_tuning_init_text: \"\(text)\""))
        let configuration = try #require(study.runs[0].configuration as? PromptTuning.Configuration)
        #expect(configuration.promptTuningInit == "TEXT")
        #expect(configuration.numVirtualTokens == virtualTokens)
        #expect(configuration.promptTuningInitTokenIDs == Self.tokens(text), "the engine repeats or truncates them to P")
        #expect(study.runs[0].fields["prompt_tuning_init_text"] == .string(text), "the run keeps the text as written")
    }

    @Test func aListOfTextsIsASweep() throws {
        let study = try F.load(Self.study("num_virtual_tokens: 2, prompt_tuning_init: TEXT, prompt_tuning_init_text: [\"ab\", \"cd\"]"))
        let prompts = study.runs.filter { $0.methodName == "prompt" }
        #expect(prompts.map(\.label) == ["prompt prompt_tuning_init_text=ab", "prompt prompt_tuning_init_text=cd"])
        #expect(prompts.map { ($0.configuration as? PromptTuning.Configuration)?.promptTuningInitTokenIDs } == [Self.tokens("ab"), Self.tokens("cd")])
    }

    @Test func characterOutsideTheVocabularyIsNamedWithItsPosition() {
        let e = F.error(loading: Self.study("prompt_tuning_init: TEXT, prompt_tuning_init_text: \"sort é\""))
        F.expect(e, kind: .invalidValue, keyPath: "methods[0].prompt_tuning_init_text", line: 13,
                 mentions: ["character \"é\" (U+E9) at position 5 is not in the vocabulary"])
    }

    @Test func textInitialisationWithoutTextIsRejected() {
        let e = F.error(loading: Self.study("num_virtual_tokens: 4, prompt_tuning_init: TEXT"))
        F.expect(e, kind: .missingKey, keyPath: "methods[0].prompt_tuning_init_text", line: 13,
                 mentions: ["prompt_tuning_init TEXT needs `prompt_tuning_init_text`"])
    }

    @Test(arguments: [
        ("prompt_tuning_init: RANDOM, prompt_tuning_init_text: \"abc\"", "(here RANDOM)"),
        ("prompt_tuning_init_text: \"abc\"", "(here RANDOM, the default)"),
    ])
    func textWithRandomInitialisationIsRejected(fields: String, says: String) {
        let e = F.error(loading: Self.study(fields))
        F.expect(e, kind: .invalidConfiguration, keyPath: "methods[0].prompt_tuning_init_text", line: 13,
                 mentions: ["only used with prompt_tuning_init: TEXT " + says])
    }

    @Test func emptyTextIsRejected() {
        let e = F.error(loading: Self.study("prompt_tuning_init: TEXT, prompt_tuning_init_text: \"\""))
        F.expect(e, kind: .invalidValue, keyPath: "methods[0].prompt_tuning_init_text", line: 13, mentions: ["must not be empty"])
    }

    @Test func textThatIsNotAStringIsRejected() {
        let e = F.error(loading: Self.study("prompt_tuning_init: TEXT, prompt_tuning_init_text: 42"))
        F.expect(e, kind: .invalidConfiguration, keyPath: "methods[0].prompt_tuning_init_text", line: 13,
                 mentions: ["must be a string, got the integer 42"])
    }

    @Test func tokenIDsAreNotAStudyKeyTheTextIs() {
        let e = F.error(loading: Self.study("prompt_tuning_init: TEXT, prompt_tuning_init_token_ids: [5, 6]"))
        F.expect(e, kind: .unknownKey, keyPath: "methods[0].prompt_tuning_init_token_ids", line: 13,
                 mentions: ["did you mean `prompt_tuning_init_text`?"])
    }

    /// A vocabulary smaller than the characters' (where "~", token 97, would fall outside) is
    /// refused at `model.vocab_size` before any method is read.
    @Test func vocabularyTooSmallForTheTextIsRefusedAtTheModel() {
        let e = F.error(loading: Self.study("prompt_tuning_init: TEXT, prompt_tuning_init_text: \"a~\"")
            .replacingOccurrences(of: "model: {d_model", with: "model: {vocab_size: 97, d_model"))
        F.expect(e, kind: .invalidValue, keyPath: "model.vocab_size", line: 3, mentions: ["below the tasks' character vocabulary of 98 tokens"])
    }

    /// End to end through the runner: with a learning rate of 1e-30 AdamW moves each value by
    /// about 1e-30, far below float32's resolution at the embeddings' magnitude, so the soft
    /// prompt stored after task 1 is still its initialisation, row p = wte[token of text[p mod n]].
    @Test("the stored soft prompt starts as the base's embeddings of the text, repeated or truncated")
    func runnerStartsTheSoftPromptFromTheTextsEmbeddings() throws {
        try withTemporaryFolder { folder in
            let methods = """
                  - {method: prompt, label: repeat, num_virtual_tokens: 5, prompt_tuning_init: TEXT, prompt_tuning_init_text: "abc", lr: 1.0e-30}
                  - {method: prompt, label: truncate, num_virtual_tokens: 2, prompt_tuning_init: TEXT, prompt_tuning_init_text: "xyz", lr: 1.0e-30}

                """
            let study = try writeStudy(tinyStudyText(methods: methods, trainingSteps: 1), in: folder)
            let url = folder.appendingPathComponent("results.h5")
            _ = try runStudy(study, output: url)
            let file = try HDF5File.open(url)
            defer { try? file.close() }
            let root = try file.root()
            let wte = try root.readTensor("seed0/base/weights/wte")
            let C = wte.shape[1]
            for (label, rows) in [("repeat", "abcab"), ("truncate", "xy")] {
                let prompt = try root.readTensor("runs/\(label)/seed0/after_task1/trainable/method/prompt_encoder.embedding.weight")
                #expect(prompt.shape == [rows.count, C])
                let expected = Self.tokens(rows).flatMap { Array(wte.storage[$0 * C ..< ($0 + 1) * C]) }
                #expect(prompt.storage.map(\.bitPattern) == expected.map(\.bitPattern), "\(label): rows are wte[\(rows)]")
                let configuration = try root.group("runs/\(label)/seed0").stringAttribute("configuration")
                #expect(configuration.contains("\"prompt_tuning_init_token_ids\""), "\(configuration)")
            }
        }
    }
}
