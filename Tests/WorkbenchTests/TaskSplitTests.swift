import Testing
@testable import Workbench

/// The `Task` contract for every catalog kind: determinism and split disjointness.
@Suite struct TaskSplitTests {
    static let trainCount = 2000

    static var cases: [Int] { Array(generatedTaskCases.indices) }

    func task(_ i: Int) throws -> any Workbench.Task {
        try TaskCatalog.make(kind: generatedTaskCases[i].kind, parameters: generatedTaskCases[i].parameters)
    }

    @Test(arguments: cases)
    func sameSeedGivesTheSameExamplesAndAnotherSeedOthers(_ i: Int) throws {
        let task = try task(i)
        for split in TaskSplit.allCases {
            let n = split == .test ? task.testSize : 100
            let a = task.examples(split: split, count: n, seed: 11)
            let b = try self.task(i).examples(split: split, count: n, seed: 11)
            #expect(a == b, "\(task.name) \(split)")
            #expect(a.count == n)
            if split == .train || task.splitPolicy == .disjoint {
                #expect(a != task.examples(split: split, count: n, seed: 12), "\(task.name) \(split) ignores the seed")
            }
        }
    }

    @Test(arguments: cases)
    func trainAndTestSplitsAreDisjointOrTheTestSplitIsTheWholeTable(_ i: Int) throws {
        let task = try task(i)
        let test = task.examples(split: .test, count: task.testSize, seed: 5)
        let train = task.examples(split: .train, count: Self.trainCount, seed: 5)
        let testKeys = Set(test.map(\.splitKey))
        #expect(testKeys.count == task.testSize, "\(task.name): test split has repeated prompts")
        switch task.splitPolicy {
        case .disjoint:
            let leaked = train.filter { testKeys.contains($0.splitKey) }
            #expect(leaked.count == 0, "\(task.name): train examples in the test split, e.g. \(leaked.first.map(\.description) ?? "")")
        case .memorization:
            #expect(Set(train.map(\.splitKey)).isSubset(of: testKeys), "\(task.name): train draws outside the table")
        case .perComponent:
            // Only the test prompts of disjoint components must stay out of training.
            let mixture = try #require(task as? MixtureTask)
            let heldOut = Set(mixture.components.filter { $0.splitPolicy == .disjoint }
                .flatMap { $0.examples(split: .test, count: $0.testSize, seed: 5).map(\.splitKey) })
            #expect(!heldOut.isEmpty)
            let leaked = train.filter { heldOut.contains($0.splitKey) }
            #expect(leaked.count == 0, "\(task.name): train examples in a disjoint component's test split, e.g. \(leaked.first.map(\.description) ?? "")")
        }
    }

    @Test(arguments: cases)
    func testSplitIsAFixedSetWhosePrefixIsReturned(_ i: Int) throws {
        let task = try task(i)
        let full = task.examples(split: .test, count: task.testSize, seed: 8)
        #expect(task.examples(split: .test, count: 10, seed: 8) == Array(full.prefix(10)))
    }

    @Test func userDataSplitsAreDisjointAndStableUnderAddedRecords() throws {
        let small = try withTaskDataFile(numberedJSONL(300)) { try JSONLTask(file: $0) }
        let large = try withTaskDataFile(numberedJSONL(600)) { try JSONLTask(file: $0) }
        let testKeys = Set(small.testRecords.map(\.prompt))
        #expect(!testKeys.isEmpty && small.trainRecords.count > 200)
        #expect(small.examples(split: .train, count: 1000, seed: 1).allSatisfy { !testKeys.contains($0.prompt) })
        // A record's split depends on its prompt alone: the first 300 records split the same way.
        #expect(Array(large.testRecords.prefix(small.testRecords.count)) == small.testRecords)
        #expect(small.examples(split: .train, count: 50, seed: 3) == small.examples(split: .train, count: 50, seed: 3))
        #expect(small.examples(split: .train, count: 50, seed: 3) != small.examples(split: .train, count: 50, seed: 4))
    }

    @Test func userTrainSamplingVisitsEveryRecordOncePerEpoch() throws {
        let task = try withTaskDataFile(numberedJSONL(100)) { try JSONLTask(file: $0) }
        let n = task.trainRecords.count
        let drawn = task.examples(split: .train, count: 2 * n, seed: 9)
        #expect(Set(drawn.prefix(n)) == Set(task.trainRecords))
        #expect(Set(drawn.suffix(n)) == Set(task.trainRecords))
        #expect(Array(drawn.prefix(n)) != Array(drawn.suffix(n)))
    }
}
