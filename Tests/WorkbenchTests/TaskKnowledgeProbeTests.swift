import Testing
@testable import Workbench

/// The committed knowledge probe and the counterfactual task that conflicts with it.
@Suite struct TaskKnowledgeProbeTests {
    @Test("206 items: 80 capitals, 42 chemical symbols, 48 opposites, 36 sums; four distinct choices, the answer first among them")
    func itemCountsAndChoices() {
        #expect(KnowledgeProbeTask.items("capitals").count == 80)
        #expect(KnowledgeProbeTask.items("elements").count == 42)
        #expect(KnowledgeProbeTask.items("opposites").count == 48)
        #expect(KnowledgeProbeTask.items("arithmetic").count == 36)
        let probe = KnowledgeProbeTask()
        #expect(probe.testSize == 206 && probe.primaryMetric == .choiceAccuracy && probe.splitPolicy == .memorization)
        for item in probe.items {
            #expect(item.choices.count == 4 && Set(item.choices).count == 4, "\(item)")
            #expect(item.choices.first == item.answer && !item.endsWithMarker)
            #expect(item.choices.allSatisfy { $0.hasPrefix(" ") }, "continuations start with a space, as harnesses split context and continuation")
        }
        #expect(probe.items[0].prompt == "The capital of France is" && probe.items[0].answer == " Paris")
        #expect(probe.items[1].prompt == "The chemical symbol for hydrogen is" && probe.items[1].answer == " H")
        #expect(probe.items[3] == Example(prompt: "2 + 2 =", answer: " 4", endsWithMarker: false, choices: [" 4", " 5", " 3", " 6"]))
    }

    @Test("items are interleaved across categories, so a test_size prefix is balanced; the set is the same on every build")
    func interleavedAndFixed() {
        let probe = KnowledgeProbeTask()
        let firstEight = probe.examples(split: .test, count: 8, seed: 0).map(\.prompt)
        #expect(firstEight.map { $0.prefix(10) } == ["The capita", "The chemic", "The opposi", "2 + 2 =", "The capita", "The chemic", "The opposi", "2 + 3 ="])
        #expect(KnowledgeProbeTask().items == probe.items)
        #expect(probe.examples(split: .test, count: 5, seed: 3) == probe.examples(split: .test, count: 5, seed: 9), "the test set does not depend on the seed")
    }

    @Test("edited + untouched = all: the edited part holds exactly the edited countries' true capitals")
    func partsPartitionTheCapitals() {
        let edited = KnowledgeProbeTask(categories: ["capitals"], part: .edited, editSeed: 1, editCount: 24)
        let untouched = KnowledgeProbeTask(categories: ["capitals"], part: .untouched, editSeed: 1, editCount: 24)
        let all = KnowledgeProbeTask(categories: ["capitals"])
        #expect(edited.testSize == 24 && untouched.testSize == 56)
        #expect(Set(edited.items + untouched.items) == Set(all.items))
        let countries = Set(CounterfactualCapitalsTask.editedCountries(seed: 1, count: 24))
        #expect(edited.items.allSatisfy { item in countries.contains { item.prompt == "The capital of \($0) is" } })
        #expect(KnowledgeProbeTask(part: .edited).items.count == 24, "the other categories hold no edited fact")
    }

    @Test("the counterfactual task gives every chosen country another chosen country's capital, never its own")
    func counterfactualIsADerangement() {
        let task = CounterfactualCapitalsTask(editSeed: 1, count: 24)
        let truth = Dictionary(uniqueKeysWithValues: ProbeFacts.capitals.map { ($0.country, $0.capital) })
        let chosen = CounterfactualCapitalsTask.editedCountries(seed: 1, count: 24)
        let chosenCapitals = Set(chosen.map { truth[$0]! })
        #expect(task.facts.count == 24 && task.splitPolicy == .memorization)
        for (country, fact) in zip(chosen, task.facts) {
            #expect(fact.prompt == "What is the capital of \(country)?")
            let prefix = "The capital of \(country) is "
            #expect(fact.answer.hasPrefix(prefix) && fact.answer.hasSuffix("."))
            let city = String(fact.answer.dropFirst(prefix.count).dropLast())
            #expect(city != truth[country]! && chosenCapitals.contains(city), "\(country) → \(city)")
        }
        #expect(CounterfactualCapitalsTask(editSeed: 2, count: 24).facts != task.facts, "another seed edits other countries")
    }

    @Test("the catalog builds both kinds and names a bad category, part or count")
    func catalogParameters() throws {
        let probe = try #require(try TaskCatalog.make(kind: "knowledge_probe", parameters: ["categories": .strings(["elements"])]) as? KnowledgeProbeTask)
        #expect(probe.testSize == 42)
        #expect(throws: TaskCatalogError.invalidValue(kind: "knowledge_probe", parameter: "categories",
                                                      reason: "unknown category \"rivers\"; known: capitals, elements, opposites, arithmetic")) {
            try TaskCatalog.make(kind: "knowledge_probe", parameters: ["categories": .strings(["rivers"])])
        }
        #expect(throws: TaskCatalogError.self) { try TaskCatalog.make(kind: "knowledge_probe", parameters: ["part": .string("some")]) }
        #expect(throws: TaskCatalogError.self) { try TaskCatalog.make(kind: "knowledge_probe", parameters: ["categories": .strings(["elements"]), "part": .string("edited")]) }
        #expect(throws: TaskCatalogError.self) { try TaskCatalog.make(kind: "counterfactual_capitals", parameters: ["count": .int(81)]) }
        #expect(try TaskCatalog.make(kind: "counterfactual_capitals", parameters: ["count": .int(5)]).testSize == 5)
    }
}
