import Testing
@testable import Workbench

/// `Batcher`: sequence layout, masks on answer targets only, padding, shuffling, errors.
@Suite struct TaskBatcherTests {
    // Tokens of the characters used below: 'a' = 3 + 97 − 32 = 68.
    static let a: Int32 = 68, b: Int32 = 69, c: Int32 = 70, x: Int32 = 91, y: Int32 = 92

    @Test func masksExactlyThePositionsWhoseTargetIsAnAnswerTokenOrTheEndMarker() throws {
        let examples = [Example(prompt: "ab", answer: "c"), Example(prompt: "", answer: "xy", endsWithMarker: false)]
        let batcher = try Batcher(taskName: "hand", examples: examples, batchSize: 3, contextLength: 8)
        #expect(batcher.sequenceLength == 3)
        let rows = batcher.fillSequential(startingAt: 0)
        #expect(rows == 2)
        let (a, b, c, x, y) = (Self.a, Self.b, Self.c, Self.x, Self.y)
        // Row 0: s = a b c <end>.  Row 1: s = <end> x y (empty prompt → separator).  Row 2: padding.
        #expect(batcher.tokens == [a, b, c, 1, x, 0, 0, 0, 0])
        #expect(batcher.targets == [b, c, 1, x, y, 0, 0, 0, 0])
        #expect(batcher.mask == [0, 1, 1, 1, 1, 0, 0, 0, 0])
        #expect(batcher.rowExamples == [0, 1, -1])
    }

    @Test func everyMaskedTargetIsAnAnswerTokenOrTheEndMarker() throws {
        let task = AdditionTask()
        let examples = task.examples(split: .train, count: 40, seed: 1)
        let batcher = try Batcher(task: task, examples: examples, batchSize: 8, contextLength: 32)
        let vocabulary = Vocabulary()
        let T = batcher.sequenceLength
        for start in stride(from: 0, to: 40, by: 8) {
            batcher.fillSequential(startingAt: start)
            for row in 0..<8 {
                let e = examples[batcher.rowExamples[row]]
                let masked = (0..<T).filter { batcher.mask[row * T + $0] == 1 }.map { batcher.targets[row * T + $0] }
                #expect(masked == (try vocabulary.encode(e.answer)) + [Vocabulary.endOfAnswer], "\(e)")
            }
        }
    }

    @Test func trainingBatchesVisitEveryExampleOncePerEpochInASeededOrder() throws {
        let examples = CopyTask(lengths: 1...3).examples(split: .train, count: 10, seed: 2)
        func orders(seed: UInt64) throws -> [Int] {
            let batcher = try Batcher(taskName: "copy", examples: examples, batchSize: 4, contextLength: 16, seed: seed)
            var visited: [Int] = []
            for _ in 0..<5 {
                batcher.nextTrainingBatch()
                visited += batcher.rowExamples
            }
            #expect(batcher.epoch == 1 && batcher.cursor == 10)   // the second epoch just ended; the third starts lazily
            return visited
        }
        let first = try orders(seed: 7)
        #expect(Set(first.prefix(10)) == Set(0..<10) && Set(first[10..<20]) == Set(0..<10))
        #expect(first.prefix(10) != first[10..<20])
        #expect(try orders(seed: 7) == first)
        #expect(try orders(seed: 8) != first)
    }

    @Test func batchesRefillTheSameBuffersInPlace() throws {
        let examples = CopyTask(lengths: 1...3).examples(split: .train, count: 10, seed: 2)
        let batcher = try Batcher(taskName: "copy", examples: examples, batchSize: 4, contextLength: 16)
        func addresses() -> [UnsafeRawPointer?] {
            [batcher.tokens.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) },
             batcher.targets.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) },
             batcher.mask.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }]
        }
        batcher.nextTrainingBatch()
        let first = addresses()
        // Record a checksum, not the array: holding a batch across a refill would force a copy.
        var seen = Set<Int32>()
        for _ in 0..<6 {
            batcher.nextTrainingBatch()
            seen.insert(batcher.tokens.withUnsafeBufferPointer { $0.enumerated().reduce(0) { $0 &+ Int32($1.offset + 1) &* $1.element } })
            #expect(addresses() == first)
        }
        #expect(seen.count > 1)
    }

    @Test func tooLongExampleNamesTheTaskAndTheExample() {
        let long = Example(prompt: "copy:abcdefgh=", answer: "abcdefgh")
        do {
            _ = try Batcher(taskName: "copy(1-8)", examples: [Example(prompt: "a", answer: "b"), long], batchSize: 2, contextLength: 16)
            Issue.record("expected an error")
        } catch let e as BatcherError {
            #expect(e == .exampleTooLong(task: "copy(1-8)", index: 1, example: long, positions: 22, contextLength: 16))
            #expect(e.description.contains("copy(1-8)") && e.description.contains("copy:abcdefgh="))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func charactersOutsideTheVocabularyFailUnlessTheTaskMapsThem() throws {
        let odd = [Example(prompt: "\u{e9}=", answer: "e")]
        #expect(throws: BatcherError.self) { try Batcher(taskName: "t", examples: odd, batchSize: 1, contextLength: 8) }
        let batcher = try Batcher(taskName: "t", examples: odd, batchSize: 1, contextLength: 8, mapUnknown: true)
        _ = batcher.fillSequential(startingAt: 0)
        #expect(batcher.tokens.first == Vocabulary.unknown)
    }
}

/// The tokenizer seam: the same batching over a pretrained model's byte-level BPE, whose
/// padding is `<|endoftext|>` and whose answers end with the end-of-sequence token.
@Suite("Batcher through a byte-level BPE tokenizer")
struct TaskBatcherBPETests {
    /// 256 byte symbols (no merges), then `<|endoftext|>` (256) and `<|im_end|>` (257, eos).
    static let tokenizer = try! ByteLevelBPETokenizer(
        tokens: ByteLevelBPETokenizer.byteToCharacter.map(String.init) + ["<|endoftext|>", "<|im_end|>"],
        merges: [], tokenTypes: Array(repeating: 1, count: 256) + [3, 3], bos: nil, eos: 257)

    @Test("ids come from the tokenizer, answers end with its eos, rows pad with <|endoftext|>")
    func bpeBatches() throws {
        let t = Self.tokenizer
        #expect(t.vocabularySize == 258 && t.paddingID == 256 && t.endOfAnswerID == 257)
        let examples = [Example(prompt: "ab", answer: "é"), Example(prompt: "x", answer: "y")]
        let batcher = try Batcher(taskName: "t", examples: examples, batchSize: 2, contextLength: 8, tokenizer: t)
        // "é" is two UTF-8 bytes: s = a b 0xC3 0xA9 <eos>, four rows.
        #expect(batcher.sequenceLength == 4)
        _ = batcher.fillSequential(startingAt: 0)
        let a = Int32(Character("a").asciiValue!), b = Int32(Character("b").asciiValue!)
        let x = Int32(Character("x").asciiValue!), y = Int32(Character("y").asciiValue!)
        #expect(Array(batcher.tokens[0..<4]) == [a, b, 0xC3, 0xA9])
        #expect(Array(batcher.targets[0..<4]) == [b, 0xC3, 0xA9, 257])
        #expect(Array(batcher.mask[0..<4]) == [0, 1, 1, 1])
        #expect(Array(batcher.tokens[4..<8]) == [x, y, 256, 256])
        #expect(Array(batcher.targets[4..<8]) == [y, 257, 256, 256])
        #expect(try t.decode(t.encode("añb", mapUnknown: false)) == "añb")
    }
}
