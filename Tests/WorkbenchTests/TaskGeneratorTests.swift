import Testing
@testable import Workbench

/// Each generator produces correct examples.
@Suite struct TaskGeneratorTests {
    static let seed: UInt64 = 42
    static let count = 300

    /// The part of `prompt` between the tag ending in ":" and the final "=".
    func body(_ prompt: String, tag: String) -> String {
        #expect(prompt.hasPrefix(tag) && prompt.hasSuffix("="), "prompt \(prompt)")
        return String(prompt.dropFirst(tag.count).dropLast())
    }

    @Test func copyAnswersEqualTheInput() {
        for e in CopyTask().examples(split: .train, count: Self.count, seed: Self.seed) {
            #expect(body(e.prompt, tag: "copy:") == e.answer)
            #expect((1...8).contains(e.answer.count))
        }
    }

    @Test func reverseAnswersAreReversed() {
        for e in ReverseTask(lengths: 2...5).examples(split: .train, count: Self.count, seed: Self.seed) {
            #expect(String(body(e.prompt, tag: "rev:").reversed()) == e.answer)
            #expect((2...5).contains(e.answer.count))
        }
    }

    @Test func sortAnswersAreTheSortedDigits() {
        for e in SortDigitsTask().examples(split: .train, count: Self.count, seed: Self.seed) {
            let digits = body(e.prompt, tag: "sort:")
            #expect(e.answer == String(digits.sorted()))
            #expect(digits.allSatisfy { $0.isWholeNumber })
            #expect(zip(e.answer, e.answer.dropFirst()).allSatisfy { $0 <= $1 })
        }
    }

    @Test func additionAnswersAreTheSums() throws {
        var longest = 0
        for e in AdditionTask(maxDigits: 3).examples(split: .train, count: Self.count, seed: Self.seed) {
            let parts = body(e.prompt, tag: "add:").split(separator: "+").map { Int($0)! }
            #expect(parts.count == 2)
            #expect(Int(e.answer) == parts[0] + parts[1])
            #expect(parts.allSatisfy { (0...999).contains($0) })
            longest = max(longest, parts.map { String($0).count }.max()!)
        }
        #expect(longest == 3)
    }

    @Test(arguments: [7, 10, 97])
    func modularAnswersAreTheResidues(modulus: Int) {
        for e in ModularAdditionTask(modulus: modulus).examples(split: .train, count: Self.count, seed: Self.seed) {
            #expect(e.prompt.hasPrefix("(") && e.prompt.hasSuffix(")%\(modulus)="))
            let operands = e.prompt.dropFirst().prefix { $0 != ")" }.split(separator: "+").map { Int($0)! }
            #expect(Int(e.answer) == (operands[0] + operands[1]) % modulus)
        }
    }

    @Test func factTablesAreDeterministicWithDistinctValues() {
        let a = FactTable(valueSeed: 1), b = FactTable(valueSeed: 1), c = FactTable(valueSeed: 2)
        #expect(a == b)
        #expect(a.facts.map(\.value) != c.facts.map(\.value))
        #expect(a.facts.count == 64)
        #expect(a.facts[17].key == "k17")
        #expect(Set(a.facts.map(\.value)).count == 64)
        #expect(a.facts.allSatisfy { $0.value.count == 3 && $0.value.allSatisfy { c in c.isLowercase } })
    }

    @Test func conflictingFactsHaveTheSameKeysAndADifferentValueForEveryKey() {
        let base = FactTable(valueSeed: 1)
        let conflicting = FactTable.conflicting(with: base, valueSeed: 2)
        #expect(conflicting.facts.map(\.key) == base.facts.map(\.key))
        for (old, new) in zip(base.facts, conflicting.facts) {
            #expect(old.value != new.value, "key \(old.key) kept its value \(old.value)")
        }
    }

    @Test func newFactTableSharesNoKeyWithTheBaseTable() {
        let base = FactTable(valueSeed: 1), new = FactTable(keyPrefix: "n", valueSeed: 3)
        #expect(Set(base.facts.map(\.key)).isDisjoint(with: new.facts.map(\.key)))
    }

    @Test func factExamplesAskForTheTableValue() {
        let table = FactTable(valueSeed: 5)
        let lookup = Dictionary(uniqueKeysWithValues: table.facts.map { ("fact:\($0.key)=", $0.value) })
        let task = FactTask(table: table)
        for e in task.examples(split: .train, count: Self.count, seed: Self.seed) {
            #expect(lookup[e.prompt] == e.answer)
        }
        #expect(task.examples(split: .test, count: 64, seed: 0).map(\.answer) == table.facts.map(\.value))
    }

    @Test func grammarSentencesFollowTheGrammar() {
        let task = GrammarTask()
        func nounPhrase(_ w: inout ArraySlice<String>) -> Bool {
            guard let det = w.popFirst(), GrammarTask.determiners.contains(det), let next = w.popFirst() else { return false }
            if GrammarTask.adjectives.contains(next) {
                guard let noun = w.popFirst() else { return false }
                return GrammarTask.nouns.contains(noun)
            }
            return GrammarTask.nouns.contains(next)
        }
        for e in task.examples(split: .train, count: Self.count, seed: Self.seed) {
            #expect(e.prompt == "" && e.endsWithMarker)
            #expect(e.answer.hasSuffix(".") && e.answer.count <= 55)
            var words = e.answer.dropLast().split(separator: " ").map(String.init)[...]
            #expect(nounPhrase(&words), "\(e.answer)")
            #expect(GrammarTask.verbs.contains(words.popFirst() ?? ""), "\(e.answer)")
            if !words.isEmpty {
                #expect(nounPhrase(&words), "\(e.answer)")
                if !words.isEmpty {
                    #expect(GrammarTask.prepositions.contains(words.popFirst()!), "\(e.answer)")
                    #expect(nounPhrase(&words) && words.isEmpty, "\(e.answer)")
                }
            }
        }
    }

    @Test func cipherAppliesOneBijectionToPromptAndAnswer() {
        let base = AdditionTask()
        let cipher = CipherTask(base: base, cipherSeed: 9)
        let letters = CharacterPool.lowercase.map { cipher.mapping[$0]! }
        let digits = CharacterPool.digits.map { cipher.mapping[$0]! }
        #expect(Set(letters) == Set(CharacterPool.lowercase))
        #expect(Set(digits) == Set(CharacterPool.digits))
        #expect(letters != CharacterPool.lowercase)
        let plain = base.examples(split: .train, count: 50, seed: Self.seed)
        let coded = cipher.examples(split: .train, count: 50, seed: Self.seed)
        for (p, c) in zip(plain, coded) {
            #expect(c.prompt == String(p.prompt.map { cipher.mapping[$0] ?? $0 }))
            #expect(c.answer == String(p.answer.map { cipher.mapping[$0] ?? $0 }))
            #expect(c.prompt.contains("+") && c.prompt.hasSuffix("="))
        }
    }

    @Test func mixtureSplitsTheCountEvenlyOverItsComponents() {
        let mixture = MixtureTask(components: TaskCatalog.baseSkills())
        let examples = mixture.examples(split: .train, count: 103, seed: Self.seed)
        #expect(examples.count == 103)
        let copies = examples.filter { $0.prompt.hasPrefix("copy:") }.count
        let sentences = examples.filter { $0.prompt.isEmpty }.count
        #expect(copies == 21 && sentences == 20)
        #expect(mixture.testSize == 200 * 4 + 64)
    }
}
